//! Percentages as people write them in budgets: `10%`, `2.5%`. The sign is
//! required, so `0.1` is refused rather than guessed as 10% or 0.1%.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Default)]
pub struct Percent(pub f64);

impl std::str::FromStr for Percent {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let number =
            text.strip_suffix('%').ok_or_else(|| format!("`{text}`: a percentage needs its sign, e.g. 10%"))?;
        match number.trim().parse::<f64>() {
            Ok(value) if value.is_finite() && value >= 0.0 => Ok(Percent(value)),
            _ => Err(format!("`{text}`: not a percentage like 10% (0% or more)")),
        }
    }
}

impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}%", self.0)
    }
}

impl Serialize for Percent {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Percent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(PercentVisitor)
    }
}

/// Text becomes a percentage; a bare number is refused with the same words as a missing sign.
struct PercentVisitor;

impl serde::de::Visitor<'_> for PercentVisitor {
    type Value = Percent;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a percentage like 10%")
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Percent, E> {
        text.parse().map_err(E::custom)
    }

    fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<Percent, E> {
        self.visit_str(&n.to_string())
    }

    fn visit_f64<E: serde::de::Error>(self, n: f64) -> Result<Percent, E> {
        self.visit_str(&n.to_string())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn percentages_need_their_sign() {
        assert_eq!("10%".parse::<Percent>(), Ok(Percent(10.0)));
        assert_eq!(" 2.5 % ".parse::<Percent>(), Ok(Percent(2.5)));
        assert!("10".parse::<Percent>().unwrap_err().contains("needs its sign"));
        assert!("-1%".parse::<Percent>().is_err());
        assert!("x%".parse::<Percent>().is_err());
        assert!(serde_yaml::from_str::<Percent>("0.1").unwrap_err().to_string().contains("needs its sign"));
        assert_eq!(serde_yaml::from_str::<Percent>("10%").unwrap(), Percent(10.0));
        assert_eq!(Percent(10.0).to_string(), "10%");
    }
}
