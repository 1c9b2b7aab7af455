//! Property queries. Every function runs on a connection the caller chose.

use crate::model::property::{Property, PropertyFields};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Value};

/// The selected columns, in [`PropertyRow`] order (a macro so `concat!` builds
/// each statement at compile time).
macro_rules! columns {
    () => {
        "id, address, suburb, property_type, bedrooms, bathrooms, carparks, land_size, price, \
         CAST(sold_at AS CHAR), link"
    };
}

type PropertyRow = (
    u64,
    String,
    String,
    String,
    Option<u32>,
    Option<u32>,
    Option<u32>,
    Option<f64>,
    u64,
    Option<String>,
    Option<String>,
);

fn from_row(row: PropertyRow) -> Property {
    let (id, address, suburb, property_type, bedrooms, bathrooms, carparks, land_size, price, sold_at, link) = row;
    Property {
        id,
        fields: PropertyFields {
            address,
            suburb,
            property_type,
            bedrooms,
            bathrooms,
            carparks,
            land_size,
            price,
            sold_at,
            link,
        },
    }
}

fn params(f: &PropertyFields) -> Vec<Value> {
    vec![
        f.address.clone().into(),
        f.suburb.clone().into(),
        f.property_type.clone().into(),
        f.bedrooms.into(),
        f.bathrooms.into(),
        f.carparks.into(),
        f.land_size.into(),
        f.price.into(),
        f.sold_at.clone().into(),
        f.link.clone().into(),
    ]
}

pub async fn get(conn: &mut Conn, id: u64) -> Result<Option<Property>, mysql_async::Error> {
    let sql = concat!("SELECT ", columns!(), " FROM property WHERE id = ?");
    let row: Option<PropertyRow> = conn.exec_first(sql, (id,)).await?;
    Ok(row.map(from_row))
}

/// Newest first; `before` is the keyset cursor (the last id of the previous page).
pub async fn list(conn: &mut Conn, before: Option<u64>, limit: u32) -> Result<Vec<Property>, mysql_async::Error> {
    let rows: Vec<PropertyRow> = match before {
        Some(id) => {
            let sql = concat!("SELECT ", columns!(), " FROM property WHERE id < ? ORDER BY id DESC LIMIT ?");
            conn.exec(sql, (id, limit)).await?
        }
        None => {
            let sql = concat!("SELECT ", columns!(), " FROM property ORDER BY id DESC LIMIT ?");
            conn.exec(sql, (limit,)).await?
        }
    };
    Ok(rows.into_iter().map(from_row).collect())
}

pub async fn insert(conn: &mut Conn, fields: &PropertyFields) -> Result<u64, mysql_async::Error> {
    conn.exec_drop(
        "INSERT INTO property (address, suburb, property_type, bedrooms, bathrooms, carparks, land_size, price, \
         sold_at, link) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        params(fields),
    )
    .await?;
    Ok(conn.last_insert_id().unwrap_or(0))
}

/// Replaces every field; false when no such property exists.
pub async fn update(conn: &mut Conn, id: u64, fields: &PropertyFields) -> Result<bool, mysql_async::Error> {
    let mut values = params(fields);
    values.push(id.into());
    conn.exec_drop(
        "UPDATE property SET address = ?, suburb = ?, property_type = ?, bedrooms = ?, bathrooms = ?, carparks = ?, \
         land_size = ?, price = ?, sold_at = ?, link = ? WHERE id = ?",
        values,
    )
    .await?;
    Ok(conn.affected_rows() > 0)
}

pub async fn delete(conn: &mut Conn, id: u64) -> Result<bool, mysql_async::Error> {
    conn.exec_drop("DELETE FROM property WHERE id = ?", (id,)).await?;
    Ok(conn.affected_rows() > 0)
}
