//! Which certificate a handshake gets: the one whose names match the
//! client's SNI exactly, else one with a matching wildcard (`*.example.com`
//! covers one label), else the first (the listener's default, as nginx's
//! default server). Pure, so the rule is tested apart from rustls.

use std::sync::Arc;

use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

/// The index of the certificate for `sni` among certificates whose names
/// (lowercase, from the subject alternative names) are `names`.
pub fn pick(names: &[Vec<String>], sni: Option<&str>) -> usize {
    let Some(sni) = sni.map(|s| s.trim_end_matches('.').to_ascii_lowercase()) else {
        return 0;
    };
    if let Some(i) = names.iter().position(|n| n.contains(&sni)) {
        return i;
    }
    let parent = sni.split_once('.').map(|(_, rest)| rest);
    parent
        .and_then(|parent| names.iter().position(|n| n.iter().any(|name| name.strip_prefix("*.") == Some(parent))))
        .unwrap_or(0)
}

/// A listener's certificates, picked by [`pick`] for each handshake.
#[derive(Debug)]
pub struct SniResolver {
    names: Vec<Vec<String>>,
    keys: Vec<Arc<CertifiedKey>>,
}

impl SniResolver {
    /// `certificates` in file order, the first the default; never empty.
    pub fn new(certificates: Vec<(Vec<String>, Arc<CertifiedKey>)>) -> SniResolver {
        let (names, keys) = certificates.into_iter().unzip();
        SniResolver { names, keys }
    }
}

impl ResolvesServerCert for SniResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.keys.get(pick(&self.names, hello.server_name())).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::pick;

    fn names(list: &[&[&str]]) -> Vec<Vec<String>> {
        list.iter().map(|n| n.iter().map(|s| s.to_string()).collect()).collect()
    }

    #[test]
    fn an_exact_name_wins_over_a_wildcard_and_the_default() {
        let n = names(&[&["a.example"], &["*.shop.example"], &["www.shop.example"]]);
        assert_eq!(pick(&n, Some("www.shop.example")), 2);
        assert_eq!(pick(&n, Some("WWW.Shop.Example.")), 2, "case and a trailing dot do not matter");
        assert_eq!(pick(&n, Some("cart.shop.example")), 1);
    }

    #[test]
    fn a_wildcard_covers_one_label_only() {
        let n = names(&[&["a.example"], &["*.shop.example"]]);
        assert_eq!(pick(&n, Some("shop.example")), 0);
        assert_eq!(pick(&n, Some("a.b.shop.example")), 0);
    }

    #[test]
    fn no_sni_or_an_unknown_name_gets_the_first_certificate() {
        let n = names(&[&["a.example"], &["b.example"]]);
        assert_eq!(pick(&n, None), 0);
        assert_eq!(pick(&n, Some("c.example")), 0);
        assert_eq!(pick(&n, Some("b.example")), 1);
    }
}
