//! Value syntaxes of Reloader's command line (Go `strconv.ParseBool`, pflag's CSV slices).

/// Go's `strconv.ParseBool`: `1 t T TRUE true True` and `0 f F FALSE false False`.
pub fn parse_go_bool(text: &str) -> Result<bool, String> {
    match text {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        other => Err(format!(
            "invalid boolean value {other:?} (accepted: 1, t, T, TRUE, true, True, 0, f, F, FALSE, false, False)"
        )),
    }
}

/// One occurrence of a pflag `StringSlice` flag, read as a CSV record like Go's `encoding/csv`:
/// commas separate fields, a field that starts with `"` is quoted (`""` inside is a quote), so
/// `"a in (x,y)",b` is two fields. An empty value is an empty list.
pub fn parse_csv_record(text: &str) -> Result<Vec<String>, String> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    let mut fields = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        let mut field = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    Some('"') => break,
                    Some(c) => field.push(c),
                    None => return Err(format!("unterminated quoted field in {text:?}")),
                }
            }
            match chars.next() {
                None => {
                    fields.push(field);
                    return Ok(fields);
                }
                Some(',') => fields.push(field),
                Some(c) => return Err(format!("unexpected {c:?} after a quoted field in {text:?}")),
            }
        } else {
            loop {
                match chars.next() {
                    None => {
                        fields.push(field);
                        return Ok(fields);
                    }
                    Some(',') => break,
                    Some('"') => return Err(format!("bare \" in non-quoted field in {text:?}")),
                    Some(c) => field.push(c),
                }
            }
            fields.push(field);
        }
    }
}

/// Every occurrence of a slice flag, each read as CSV, concatenated.
pub fn parse_csv_occurrences(occurrences: &[String]) -> Result<Vec<String>, String> {
    let mut all = Vec::new();
    for occurrence in occurrences {
        all.extend(parse_csv_record(occurrence)?);
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_bool_accepts_exactly_go_forms() {
        for t in ["1", "t", "T", "TRUE", "true", "True"] {
            assert_eq!(parse_go_bool(t), Ok(true), "{t}");
        }
        for f in ["0", "f", "F", "FALSE", "false", "False"] {
            assert_eq!(parse_go_bool(f), Ok(false), "{f}");
        }
        for bad in ["yes", "tRUE", "", " true", "2"] {
            assert!(parse_go_bool(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn csv_splits_on_commas_and_keeps_quoted_commas() {
        assert_eq!(parse_csv_record("a,b").unwrap(), ["a", "b"]);
        assert_eq!(parse_csv_record("\"a in (x,y)\"").unwrap(), ["a in (x,y)"]);
        assert_eq!(
            parse_csv_record("\"a in (x,y)\",b=c").unwrap(),
            ["a in (x,y)", "b=c"]
        );
        assert_eq!(parse_csv_record("\"say \"\"hi\"\"\"").unwrap(), ["say \"hi\""]);
        assert_eq!(parse_csv_record("a,,b").unwrap(), ["a", "", "b"]);
        assert!(parse_csv_record("").unwrap().is_empty());
    }

    #[test]
    fn csv_rejects_malformed_quotes() {
        assert!(parse_csv_record("\"open").is_err());
        assert!(parse_csv_record("a\"b").is_err());
        assert!(parse_csv_record("\"a\"b").is_err());
    }

    #[test]
    fn repeated_slice_flags_concatenate() {
        let occurrences = vec!["a,b".to_owned(), "c".to_owned()];
        assert_eq!(parse_csv_occurrences(&occurrences).unwrap(), ["a", "b", "c"]);
    }
}
