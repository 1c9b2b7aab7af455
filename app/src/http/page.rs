//! `GET /`: a small HTML page for a browser. Recent properties, a form that
//! adds one, and which instance, database node and cache state answered.
//! No external assets; every stored value is HTML-escaped.

use super::error::ApiError;
use super::list::{ListQuery, Listing};
use super::read_through::{answer, ReadRequest};
use super::{query, QueryResult};
use crate::cache::Family;
use crate::db::property_sql;
use crate::model::property::Property;
use crate::state::SharedState;
use axum::extract::State;
use axum::response::{Html, IntoResponse, Response};
use http::HeaderMap;
use std::fmt::Write;

/// Properties shown on the page.
const RECENT: u32 = 10;

pub async fn index(State(state): State<SharedState>, q: QueryResult, headers: HeaderMap) -> Result<Response, ApiError> {
    let q: ListQuery = query(q)?;
    let recent = ListQuery { limit: Some(RECENT.to_string()), after: None, after_gtid: q.after_gtid };
    let (request, page) = ReadRequest::page(&state, Family::Property, &recent, &headers)?;
    let read = answer(
        &state,
        request,
        "",
        on_conn!(|conn| async {
            let items = property_sql::list(&mut conn, None, RECENT).await?;
            Ok(Some(Listing::new(items, page, |p: &Property| p.id)))
        }),
    )
    .await;
    let (rows, node, cache, problem) = match read {
        Ok(a) => {
            let listing: Listing<Property> =
                serde_json::from_slice(&a.body).unwrap_or(Listing { items: vec![], next_after: None });
            let node = a.node.to_str().unwrap_or("?").to_string();
            let cache = String::from_utf8_lossy(a.cache.header().as_bytes()).into_owned();
            (listing.items, node, cache, None)
        }
        Err(e) => (Vec::new(), "-".to_string(), "-".to_string(), Some(format!("{:?}", e.into_response().status()))),
    };
    Ok(Html(render(&state.config.name, &node, &cache, &rows, problem.as_deref())).into_response())
}

fn render(instance: &str, node: &str, cache: &str, rows: &[Property], problem: Option<&str>) -> String {
    let mut table = String::new();
    for p in rows {
        let f = &p.fields;
        let _ = write!(
            table,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            p.id,
            escape(&f.address),
            escape(&f.suburb),
            escape(&f.property_type),
            f.bedrooms.map_or(String::from("-"), |b| b.to_string()),
            f.price,
            escape(f.sold_at.as_deref().unwrap_or("-")),
        );
    }
    if rows.is_empty() {
        table.push_str("<tr><td colspan=7>No properties yet: add one below.</td></tr>");
    }
    let problem =
        problem.map_or(String::new(), |p| format!("<p class=bad>The database could not be read ({}).</p>", escape(p)));
    PAGE.replace("{instance}", &escape(instance))
        .replace("{node}", &escape(node))
        .replace("{cache}", &escape(cache))
        .replace("{problem}", &problem)
        .replace("{rows}", &table)
}

/// Escapes the five characters that matter in HTML text and attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

const PAGE: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>tandem app</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:15px/1.4 system-ui,sans-serif;margin:2em auto;max-width:60em;padding:0 1em;color:#222}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.3em .5em;text-align:left}
.badge{display:inline-block;background:#eef;border-radius:4px;padding:.1em .5em;margin-right:.5em;font-family:monospace}
form{display:grid;grid-template-columns:repeat(4,1fr);gap:.5em;margin-top:1em}.bad{color:#b00}
#result{font-family:monospace;white-space:pre-wrap;margin-top:.5em}
</style></head><body>
<h1>Recent properties</h1>
<p>Answered by <span class="badge" id="instance">instance {instance}</span><span class="badge" id="db-node">db {node}</span><span class="badge" id="cache">cache {cache}</span></p>
{problem}
<table><thead><tr><th>id</th><th>address</th><th>suburb</th><th>type</th><th>beds</th><th>price</th><th>sold</th></tr></thead>
<tbody>{rows}</tbody></table>
<h2>Add a property</h2>
<form id="add">
<input name="address" placeholder="address" required maxlength="200">
<input name="suburb" placeholder="suburb" required maxlength="100">
<input name="property_type" placeholder="type (house, unit)" required maxlength="50">
<input name="price" type="number" min="0" placeholder="price" required>
<input name="bedrooms" type="number" min="0" placeholder="bedrooms">
<input name="bathrooms" type="number" min="0" placeholder="bathrooms">
<input name="carparks" type="number" min="0" placeholder="car parks">
<input name="land_size" type="number" min="0" step="any" placeholder="land m²">
<input name="sold_at" type="date">
<input name="link" type="url" placeholder="https://…">
<button type="submit">Add</button>
</form>
<div id="result"></div>
<script>
document.getElementById('add').addEventListener('submit', async (event) => {
  event.preventDefault();
  const body = {};
  for (const [key, value] of new FormData(event.target)) {
    if (value === '') continue;
    body[key] = ['price','bedrooms','bathrooms','carparks'].includes(key) ? parseInt(value, 10)
              : key === 'land_size' ? parseFloat(value) : value;
  }
  const out = document.getElementById('result');
  try {
    const response = await fetch('/api/property', {method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify(body)});
    const text = await response.text();
    const gtid = response.headers.get('X-Gtid');
    out.textContent = response.status + ' from ' + response.headers.get('X-Served-By') + ' via db ' + response.headers.get('X-Db-Node') + '\n' + text;
    // Read our own write: the next page load waits for this GTID on a replica.
    if (response.ok && gtid) { location.href = '/?after_gtid=' + encodeURIComponent(gtid); }
  } catch (error) { out.textContent = 'request failed: ' + error; }
});
</script>
</body></html>
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::property::PropertyFields;

    #[test]
    fn stored_text_cannot_inject_markup() {
        let p = Property {
            id: 1,
            fields: PropertyFields {
                address: "<script>alert(1)</script>".into(),
                suburb: "O'Brien & \"Co\"".into(),
                property_type: "house".into(),
                bedrooms: None,
                bathrooms: None,
                carparks: None,
                land_size: None,
                price: 1,
                sold_at: None,
                link: None,
            },
        };
        let html = render("app<1>", "db", "HIT", &[p], None);
        assert!(!html.contains("<script>alert"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(html.contains("O&#39;Brien &amp; &quot;Co&quot;"));
        assert!(html.contains("instance app&lt;1&gt;"));
    }
}
