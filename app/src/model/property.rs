//! A property listing: what clients send, what is stored, what is returned.

use super::validate::{is_iso_date, optional_count, optional_text, required_text, Invalid};
use serde::{Deserialize, Serialize};

/// Longest `address`, in characters (the column is `VARCHAR(200)`).
pub const ADDRESS_MAX: usize = 200;
pub const SUBURB_MAX: usize = 100;
pub const TYPE_MAX: usize = 50;
pub const LINK_MAX: usize = 500;
/// Bedrooms, bathrooms and car parks above this are taken for typos.
pub const ROOMS_MAX: u32 = 1000;
/// Largest price in whole currency units (fits a signed 64-bit column).
pub const PRICE_MAX: u64 = i64::MAX as u64;

/// A stored property, as the API returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Property {
    pub id: u64,
    #[serde(flatten)]
    pub fields: PropertyFields,
}

/// The writable fields, validated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PropertyFields {
    pub address: String,
    pub suburb: String,
    pub property_type: String,
    pub bedrooms: Option<u32>,
    pub bathrooms: Option<u32>,
    pub carparks: Option<u32>,
    /// Square metres.
    pub land_size: Option<f64>,
    /// Whole currency units.
    pub price: u64,
    /// `YYYY-MM-DD`.
    pub sold_at: Option<String>,
    pub link: Option<String>,
}

/// What a client sends to create (`POST`) or replace (`PUT`) a property. Unknown
/// fields are refused, so a typo (`bedroom`) is an error instead of a silent null.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PropertyInput {
    pub address: Option<String>,
    pub suburb: Option<String>,
    pub property_type: Option<String>,
    pub bedrooms: Option<u32>,
    pub bathrooms: Option<u32>,
    pub carparks: Option<u32>,
    pub land_size: Option<f64>,
    pub price: Option<u64>,
    pub sold_at: Option<String>,
    pub link: Option<String>,
}

impl PropertyInput {
    /// Checks every rule and reports every failing field at once.
    pub fn validate(self) -> Result<PropertyFields, Invalid> {
        let mut errors = Invalid::default();
        let address = required_text(&mut errors, "address", self.address, ADDRESS_MAX);
        let suburb = required_text(&mut errors, "suburb", self.suburb, SUBURB_MAX);
        let property_type = required_text(&mut errors, "property_type", self.property_type, TYPE_MAX);
        let bedrooms = optional_count(&mut errors, "bedrooms", self.bedrooms, ROOMS_MAX);
        let bathrooms = optional_count(&mut errors, "bathrooms", self.bathrooms, ROOMS_MAX);
        let carparks = optional_count(&mut errors, "carparks", self.carparks, ROOMS_MAX);
        if let Some(size) = self.land_size {
            if !size.is_finite() || size < 0.0 {
                errors.push("land_size", "must be a number of square metres, 0 or more");
            }
        }
        let price = match self.price {
            None => {
                errors.push("price", "is required");
                0
            }
            Some(p) if p > PRICE_MAX => {
                errors.push("price", format!("must be at most {PRICE_MAX}"));
                p
            }
            Some(p) => p,
        };
        let sold_at = self.sold_at.map(|d| d.trim().to_string());
        if let Some(date) = &sold_at {
            if !is_iso_date(date) {
                errors.push("sold_at", "must be a date written YYYY-MM-DD");
            }
        }
        let link = optional_text(&mut errors, "link", self.link, LINK_MAX);
        if let Some(url) = &link {
            if !(url.starts_with("http://") || url.starts_with("https://")) || url.contains(char::is_whitespace) {
                errors.push("link", "must be an http:// or https:// URL without spaces");
            }
        }
        errors.into_result(|| PropertyFields {
            address,
            suburb,
            property_type,
            bedrooms,
            bathrooms,
            carparks,
            land_size: self.land_size,
            price,
            sold_at,
            link,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(json: &str) -> PropertyInput {
        serde_json::from_str(json).expect("parses")
    }

    #[test]
    fn a_complete_property_is_accepted_and_trimmed() {
        let fields = input(
            r#"{"address":" 1 Main St ","suburb":"Carlton","property_type":"house","bedrooms":3,
                "bathrooms":2,"carparks":1,"land_size":450.5,"price":1250000,"sold_at":"2024-03-01",
                "link":"https://example.com/1"}"#,
        )
        .validate()
        .expect("valid");
        assert_eq!(fields.address, "1 Main St");
        assert_eq!(fields.land_size, Some(450.5));
    }

    #[test]
    fn missing_required_fields_are_all_named() {
        let err = input(r#"{"bedrooms":2}"#).validate().expect_err("invalid");
        let fields: Vec<_> = err.0.iter().map(|e| e.field).collect();
        assert_eq!(fields, ["address", "suburb", "property_type", "price"]);
    }

    #[test]
    fn out_of_range_values_are_refused() {
        let err = input(
            r#"{"address":"a","suburb":"b","property_type":"c","price":1,"bedrooms":5000,
                "land_size":-1,"sold_at":"2024-02-30","link":"javascript:alert(1)"}"#,
        )
        .validate()
        .expect_err("invalid");
        let fields: Vec<_> = err.0.iter().map(|e| e.field).collect();
        assert_eq!(fields, ["bedrooms", "land_size", "sold_at", "link"]);
    }

    #[test]
    fn unknown_fields_and_wrong_types_fail_to_parse() {
        assert!(serde_json::from_str::<PropertyInput>(r#"{"bedroom":2}"#).is_err());
        assert!(serde_json::from_str::<PropertyInput>(r#"{"price":"a lot"}"#).is_err());
        assert!(serde_json::from_str::<PropertyInput>(r#"{"bedrooms":-1}"#).is_err());
    }

    #[test]
    fn a_property_serializes_flat() {
        let p = Property {
            id: 7,
            fields: input(r#"{"address":"a","suburb":"b","property_type":"c","price":1}"#).validate().expect("valid"),
        };
        let json = serde_json::to_value(&p).expect("serializes");
        assert_eq!(json["id"], 7);
        assert_eq!(json["address"], "a");
        assert!(json["bedrooms"].is_null());
    }
}
