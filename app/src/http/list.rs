//! Keyset pagination shared by the list endpoints.

use super::error::ApiError;
use serde::{Deserialize, Serialize};

/// Page size when `?limit=` is absent.
pub const DEFAULT_LIMIT: u32 = 20;
/// Largest page: bounds the work one request can ask for.
pub const MAX_LIMIT: u32 = 100;

/// `?limit=&after=&after_gtid=`, kept as text so errors can quote it.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    pub limit: Option<String>,
    pub after: Option<String>,
    pub after_gtid: Option<String>,
}

/// A validated page request: newest first, `after` is the cursor (the last id
/// of the previous page), so the next page holds ids below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub limit: u32,
    pub after: Option<u64>,
}

impl ListQuery {
    pub fn page(&self) -> Result<Page, ApiError> {
        let limit = match self.limit.as_deref() {
            None | Some("") => DEFAULT_LIMIT,
            Some(text) => match text.parse::<u32>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
                _ => return Err(ApiError::BadRequest(format!("limit must be 1 to {MAX_LIMIT}, got {text:?}"))),
            },
        };
        let after = match self.after.as_deref() {
            None | Some("") => None,
            Some(text) => match text.parse::<u64>() {
                Ok(n) if n > 0 => Some(n),
                _ => return Err(ApiError::BadRequest(format!("after must be a positive id, got {text:?}"))),
            },
        };
        Ok(Page { limit, after })
    }
}

/// One page and the cursor of the next (`null` on the last page).
#[derive(Debug, Serialize, Deserialize)]
pub struct Listing<T> {
    pub items: Vec<T>,
    pub next_after: Option<u64>,
}

impl<T> Listing<T> {
    pub fn new(items: Vec<T>, page: Page, id: impl Fn(&T) -> u64) -> Listing<T> {
        let next_after = if items.len() == page.limit as usize { items.last().map(id) } else { None };
        Listing { items, next_after }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(limit: Option<&str>, after: Option<&str>) -> ListQuery {
        ListQuery { limit: limit.map(String::from), after: after.map(String::from), after_gtid: None }
    }

    #[test]
    fn defaults_and_bounds() {
        assert_eq!(query(None, None).page().ok(), Some(Page { limit: DEFAULT_LIMIT, after: None }));
        assert_eq!(query(Some("5"), Some("40")).page().ok(), Some(Page { limit: 5, after: Some(40) }));
        for (limit, after) in [(Some("0"), None), (Some("101"), None), (Some("x"), None), (None, Some("-3"))] {
            assert!(query(limit, after).page().is_err(), "{limit:?} {after:?}");
        }
    }

    #[test]
    fn a_full_page_points_at_the_next_one() {
        let page = Page { limit: 2, after: None };
        assert_eq!(Listing::new(vec![9u64, 8], page, |x| *x).next_after, Some(8));
        assert_eq!(Listing::new(vec![9u64], page, |x| *x).next_after, None);
    }
}
