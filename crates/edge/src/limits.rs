//! Caps as people write them (the CLI's `pier caps set`, the console's caps forms): `none`, a
//! count, or a size with a unit.

/// A cap read from text: `none` or empty (no cap), a number, or when `size` a number with a
/// unit (`KB`, `MB`, `GB`, `TB` in powers of 1000; `KiB`, `MiB`, `GiB`, `TiB` in powers of
/// 1024; `B`). The error says what was wrong, in words for the person who typed it.
pub fn parse_limit(text: &str, size: bool) -> Result<Option<u64>, String> {
    let text = text.trim();
    if text.is_empty() || text.eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let n: u64 = digits.parse().map_err(|_| {
        if size {
            format!("{text:?} is not a size (such as 10GiB or 500MB) or none")
        } else {
            format!("{text:?} is not a whole number or none")
        }
    })?;
    let factor: u64 = match (size, unit.trim().to_ascii_lowercase().as_str()) {
        (_, "") => 1,
        (true, "b") => 1,
        (true, "kb") => 1000,
        (true, "mb") => 1000u64.pow(2),
        (true, "gb") => 1000u64.pow(3),
        (true, "tb") => 1000u64.pow(4),
        (true, "kib") => 1 << 10,
        (true, "mib") => 1 << 20,
        (true, "gib") => 1 << 30,
        (true, "tib") => 1 << 40,
        (true, _) => return Err(format!("{text:?}: unknown unit {unit:?}")),
        (false, _) => return Err(format!("{text:?} is not a whole number or none")),
    };
    n.checked_mul(factor)
        .map(Some)
        .ok_or_else(|| format!("{text:?} is too large"))
}

#[cfg(test)]
mod tests {
    use super::parse_limit;

    #[test]
    fn a_size_reads_with_its_unit() {
        assert_eq!(parse_limit("10GiB", true), Ok(Some(10 << 30)));
        assert_eq!(parse_limit("500MB", true), Ok(Some(500_000_000)));
        assert_eq!(parse_limit("1234", true), Ok(Some(1234)));
        assert_eq!(parse_limit("none", true), Ok(None));
        assert_eq!(parse_limit("", true), Ok(None));
    }

    #[test]
    fn a_count_takes_no_unit() {
        assert_eq!(parse_limit("100", false), Ok(Some(100)));
        assert!(parse_limit("100MB", false).is_err());
    }

    #[test]
    fn nonsense_is_refused() {
        assert!(parse_limit("lots", true).is_err());
        assert!(parse_limit("5 parsecs", true).is_err());
        assert!(parse_limit("99999999999TiB", true).is_err());
        assert!(parse_limit("-5", false).is_err());
    }
}
