//! Humantime durations (`30s`, `2h`, `1m 30s`) as they are written in workflow files.

use std::fmt;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A duration written as humantime text; it serialises back to the same canonical text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HumanDuration(pub Duration);

impl HumanDuration {
    /// The duration.
    pub fn get(self) -> Duration {
        self.0
    }
}

impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", humantime::format_duration(self.0))
    }
}

impl std::str::FromStr for HumanDuration {
    type Err = humantime::DurationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        humantime::parse_duration(s.trim()).map(HumanDuration)
    }
}

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(|e| {
            serde::de::Error::custom(format!(
                "invalid duration `{text}`: {e} (write e.g. `30s`, `5m`, `2h`)"
            ))
        })
    }
}

impl Serialize for HumanDuration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl JsonSchema for HumanDuration {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Duration".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "A duration such as `30s`, `5m`, `2h` or `1h 30m`.",
            "pattern": r"^\s*[0-9]+\s*[a-zµ]+(\s*[0-9]+\s*[a-zµ]+)*\s*$"
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_humantime() {
        let d: HumanDuration = "2h".parse().unwrap();
        assert_eq!(d.get(), Duration::from_secs(7200));
        assert_eq!(d.to_string(), "2h");
        let d: HumanDuration = "1m 30s".parse().unwrap();
        assert_eq!(d.get(), Duration::from_secs(90));
        assert!("soon".parse::<HumanDuration>().is_err());
        assert!("30".parse::<HumanDuration>().is_err());
    }
}
