//! EDN: a reader for the subset of EDN that Jepsen and Knossos histories
//! use, and the history reader on top of it.
//!
//! Histories are one top-level vector or list of operation maps, or a
//! sequence of top-level maps (usually one per line), with `;` comments and
//! `#_` discarded forms anywhere between operations. A map whose `:process` is a
//! keyword (such as `:nemesis`) is not a client operation: it is skipped
//! and listed in [`Records::skipped`].

use super::{op_name, Clock, ParseError, Record, RecordKind, Records};
use crate::datum::Datum;

/// Reads EDN forms from text, tracking line numbers.
pub struct Reader<'a> {
    source: &'a str,
    text: &'a [u8],
    pos: usize,
    line: usize,
}

/// The bytes a symbol or keyword may contain (all ASCII).
const SYMBOL_CHARS: [bool; 256] = {
    let mut table = [false; 256];
    let mut c = 0;
    while c < 256 {
        table[c] = (c as u8).is_ascii_alphanumeric();
        c += 1;
    }
    let punctuation = b".*+!-_?$%&=<>/:#'";
    let mut i = 0;
    while i < punctuation.len() {
        table[punctuation[i] as usize] = true;
        i += 1;
    }
    table
};

#[inline]
fn is_symbol_char(c: u8) -> bool {
    SYMBOL_CHARS[c as usize]
}

impl<'a> Reader<'a> {
    /// A reader at the start of `text`, which begins on line `line`.
    pub fn new(text: &'a str, line: usize) -> Self {
        Reader { source: text, text: text.as_bytes(), pos: 0, line }
    }

    fn err<T>(&self, message: impl Into<String>) -> Result<T, ParseError> {
        Err(ParseError { line: self.line, message: message.into() })
    }

    fn skip_whitespace(&mut self) {
        while let Some(&c) = self.text.get(self.pos) {
            match c {
                b'\n' => {
                    self.line += 1;
                    self.pos += 1;
                }
                b' ' | b'\t' | b'\r' | b',' => self.pos += 1,
                b';' => {
                    while self.text.get(self.pos).is_some_and(|&c| c != b'\n') {
                        self.pos += 1;
                    }
                }
                _ => break,
            }
        }
    }

    /// The line of the next form, after skipping whitespace, comments and
    /// `#_` discarded forms; `None` at the end of the text.
    pub fn peek_line(&mut self) -> Result<Option<usize>, ParseError> {
        loop {
            self.skip_whitespace();
            if self.text.get(self.pos..self.pos + 2) != Some(b"#_") {
                return Ok((self.pos < self.text.len()).then_some(self.line));
            }
            self.pos += 2;
            if self.read()?.is_none() {
                return self.err("expected a form after #_");
            }
        }
    }

    /// Reads the next form; `Ok(None)` at the end of the text.
    pub fn read(&mut self) -> Result<Option<Datum>, ParseError> {
        self.skip_whitespace();
        let Some(&c) = self.text.get(self.pos) else {
            return Ok(None);
        };
        let datum = match c {
            b'{' => {
                self.pos += 1;
                let items = self.read_until(b'}', "map")?;
                if items.len() % 2 != 0 {
                    return self.err("a map needs an even number of forms (key value pairs)");
                }
                let mut entries = Vec::with_capacity(items.len() / 2);
                let mut it = items.into_iter();
                while let (Some(k), Some(v)) = (it.next(), it.next()) {
                    entries.push((k, v));
                }
                Datum::map(entries)
            }
            b'[' | b'(' => {
                self.pos += 1;
                let close = if c == b'[' { b']' } else { b')' };
                Datum::List(self.read_until(close, if c == b'[' { "vector" } else { "list" })?)
            }
            b'#' => self.read_dispatch()?,
            b'"' => Datum::Str(self.read_string()?),
            b':' => {
                self.pos += 1;
                let word = self.read_word();
                if word.is_empty() {
                    return self.err("expected a keyword name after ':'");
                }
                Datum::Keyword(word)
            }
            b'\\' => {
                self.pos += 1;
                let word = self.read_word();
                let ch = match word.as_str() {
                    "newline" => "\n".to_string(),
                    "space" => " ".to_string(),
                    "tab" => "\t".to_string(),
                    _ if word.chars().count() == 1 => word,
                    _ => return self.err(format!("unknown character literal \\{word}")),
                };
                Datum::Str(ch)
            }
            b'}' | b']' | b')' => return self.err(format!("unexpected '{}'", c as char)),
            _ if c.is_ascii_digit()
                || ((c == b'-' || c == b'+') && self.text.get(self.pos + 1).is_some_and(u8::is_ascii_digit)) =>
            {
                self.read_number()?
            }
            _ if is_symbol_char(c) => match self.read_word().as_str() {
                "nil" => Datum::Nil,
                "true" => Datum::Bool(true),
                "false" => Datum::Bool(false),
                word => Datum::Symbol(word.to_string()),
            },
            _ => return self.err(format!("unexpected character {:?}", self.rest_char())),
        };
        Ok(Some(datum))
    }

    fn rest_char(&self) -> char {
        std::str::from_utf8(&self.text[self.pos..]).ok().and_then(|s| s.chars().next()).unwrap_or('?')
    }

    fn read_until(&mut self, close: u8, what: &str) -> Result<Vec<Datum>, ParseError> {
        let opened = self.line;
        let mut items = Vec::new();
        loop {
            self.peek_line()?;
            match self.text.get(self.pos) {
                None => {
                    return Err(ParseError {
                        line: self.line,
                        message: format!(
                            "the file ends inside a {what} opened at line {opened}; expected '{}'",
                            close as char
                        ),
                    })
                }
                Some(&c) if c == close => {
                    self.pos += 1;
                    return Ok(items);
                }
                Some(_) => items.push(self.read()?.expect("not at the end")),
            }
        }
    }

    fn read_dispatch(&mut self) -> Result<Datum, ParseError> {
        self.pos += 1;
        match self.text.get(self.pos) {
            Some(b'{') => {
                self.pos += 1;
                Ok(Datum::set(self.read_until(b'}', "set")?))
            }
            Some(b'_') => {
                self.pos += 1;
                if self.read()?.is_none() {
                    return self.err("expected a form after #_");
                }
                self.read()?.map_or_else(|| self.err("expected a form after the discarded one"), Ok)
            }
            Some(&c) if c.is_ascii_alphabetic() => {
                // A tagged element (#inst "...", #uuid "..."): keep the value.
                let _tag = self.read_word();
                self.read()?.map_or_else(|| self.err("expected a value after the tag"), Ok)
            }
            _ => self.err("unsupported '#' form (expected #{...}, #_ or a tag)"),
        }
    }

    /// The symbol characters from here (ASCII, so a slice of the source).
    fn word(&mut self) -> &'a str {
        let start = self.pos;
        while self.text.get(self.pos).is_some_and(|&c| is_symbol_char(c)) {
            self.pos += 1;
        }
        &self.source[start..self.pos]
    }

    fn read_word(&mut self) -> String {
        self.word().to_string()
    }

    /// Reads the next form; a keyword is returned as its name, borrowed,
    /// anything else as a datum. Errors at the end of the text.
    pub(crate) fn read_entry(&mut self) -> Result<Entry<'a>, ParseError> {
        self.peek_line()?;
        if self.text.get(self.pos) == Some(&b':') {
            self.pos += 1;
            let word = self.word();
            if word.is_empty() {
                return self.err("expected a keyword name after ':'");
            }
            return Ok(Entry::Name(word));
        }
        match self.read()? {
            Some(datum) => Ok(Entry::Datum(datum)),
            None => self.err("the file ends inside a map; expected '}'"),
        }
    }

    /// Reads an operation map at the current position straight into its
    /// fields, without building a datum for the map itself.
    fn read_op_fields(&mut self) -> Result<OpFields<'a>, ParseError> {
        let opened = self.line;
        self.pos += 1; // '{'
        let mut fields = OpFields::default();
        loop {
            self.peek_line()?;
            match self.text.get(self.pos) {
                None => return self.err(format!("the file ends inside a map opened at line {opened}; expected '}}'")),
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(fields);
                }
                Some(_) => {}
            }
            let key = self.read_entry()?;
            self.peek_line()?;
            if matches!(self.text.get(self.pos), None | Some(b'}')) {
                return self.err("a map needs an even number of forms (key value pairs)");
            }
            let slot = match key {
                Entry::Name("process") => Slot::Process,
                Entry::Name("type") => Slot::Type,
                Entry::Name("f") => Slot::F,
                Entry::Name("time") => Slot::Time,
                Entry::Name("key") => Slot::Key,
                Entry::Name("value") => Slot::Value,
                _ => {
                    self.read()?;
                    continue;
                }
            };
            let entry = self.read_entry()?;
            if !fields.set(slot, entry) {
                return self.err(format!("the map has the key {} twice", slot.name()));
            }
        }
    }

    fn read_number(&mut self) -> Result<Datum, ParseError> {
        let word = self.read_word();
        let trimmed = word.trim_end_matches(['N', 'M']);
        if let Ok(i) = trimmed.parse::<i64>() {
            return Ok(Datum::Int(i));
        }
        match trimmed.parse::<f64>() {
            Ok(f) => Ok(Datum::Float(f.to_bits())),
            Err(_) => self.err(format!("expected a number, found {word:?}")),
        }
    }

    fn read_string(&mut self) -> Result<String, ParseError> {
        let opened = self.line;
        self.pos += 1;
        // Most strings have no escape and no line break: one copy.
        let start = self.pos;
        let plain = self.text[start..].iter().position(|&c| matches!(c, b'"' | b'\\' | b'\n'));
        if let Some(len) = plain {
            if self.text[start + len] == b'"' {
                self.pos = start + len + 1;
                return Ok(self.source[start..start + len].to_string());
            }
        }
        let mut bytes = Vec::new();
        loop {
            let Some(&c) = self.text.get(self.pos) else {
                return Err(ParseError {
                    line: self.line,
                    message: format!("the file ends inside a string opened at line {opened}; expected '\"'"),
                });
            };
            self.pos += 1;
            match c {
                b'"' => break,
                b'\\' => {
                    let Some(&e) = self.text.get(self.pos) else {
                        continue;
                    };
                    self.pos += 1;
                    match e {
                        b'n' => bytes.push(b'\n'),
                        b't' => bytes.push(b'\t'),
                        b'r' => bytes.push(b'\r'),
                        b'u' => {
                            let hex = self.text.get(self.pos..self.pos + 4).and_then(|h| std::str::from_utf8(h).ok());
                            let Some(ch) = hex.and_then(|h| u32::from_str_radix(h, 16).ok()).and_then(char::from_u32)
                            else {
                                return self.err("expected four hex digits after \\u");
                            };
                            self.pos += 4;
                            bytes.extend_from_slice(ch.to_string().as_bytes());
                        }
                        other => bytes.push(other),
                    }
                }
                b'\n' => {
                    self.line += 1;
                    bytes.push(c);
                }
                _ => bytes.push(c),
            }
        }
        String::from_utf8(bytes).or_else(|_| self.err("string is not valid UTF-8"))
    }
}

/// A form read where a keyword is expected often: the keyword's name, or
/// any other datum.
#[derive(Debug)]
pub(crate) enum Entry<'a> {
    /// A keyword, without its `:`.
    Name(&'a str),
    /// Any other form.
    Datum(Datum),
}

impl Entry<'_> {
    /// The name of a keyword or a string (see [`Datum::as_name`]).
    pub(crate) fn as_name(&self) -> Option<&str> {
        match self {
            Entry::Name(name) => Some(name),
            Entry::Datum(d) => d.as_name(),
        }
    }

    /// The entry as a datum.
    pub(crate) fn into_datum(self) -> Datum {
        match self {
            Entry::Name(name) => Datum::Keyword(name.to_string()),
            Entry::Datum(d) => d,
        }
    }
}

impl std::fmt::Display for Entry<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Entry::Name(name) => write!(f, ":{name}"),
            Entry::Datum(d) => write!(f, "{d}"),
        }
    }
}

/// The entries of an operation map that a record is made of.
#[derive(Clone, Copy)]
enum Slot {
    Process,
    Type,
    F,
    Time,
    Key,
    Value,
}

impl Slot {
    fn name(self) -> &'static str {
        match self {
            Slot::Process => ":process",
            Slot::Type => ":type",
            Slot::F => ":f",
            Slot::Time => ":time",
            Slot::Key => ":key",
            Slot::Value => ":value",
        }
    }
}

/// An operation map's entries of interest (other entries are ignored).
#[derive(Default)]
struct OpFields<'a> {
    process: Option<Entry<'a>>,
    kind: Option<Entry<'a>>,
    f: Option<Entry<'a>>,
    time: Option<Entry<'a>>,
    key: Option<Entry<'a>>,
    value: Option<Entry<'a>>,
}

impl<'a> OpFields<'a> {
    /// Fills `slot`; false if it was filled already.
    fn set(&mut self, slot: Slot, entry: Entry<'a>) -> bool {
        let place = match slot {
            Slot::Process => &mut self.process,
            Slot::Type => &mut self.kind,
            Slot::F => &mut self.f,
            Slot::Time => &mut self.time,
            Slot::Key => &mut self.key,
            Slot::Value => &mut self.value,
        };
        place.replace(entry).is_none()
    }

    /// The fields of a map datum (its keyword keys only).
    fn of_map(entries: &[(Datum, Datum)]) -> OpFields<'static> {
        let get = |name: &str| {
            entries
                .iter()
                .find(|(k, _)| matches!(k, Datum::Keyword(n) if n == name))
                .map(|(_, v)| Entry::Datum(v.clone()))
        };
        OpFields {
            process: get("process"),
            kind: get("type"),
            f: get("f"),
            time: get("time"),
            key: get("key"),
            value: get("value"),
        }
    }
}

/// Reads one operation map into a record; `Ok(None)` for a non-client
/// entry (keyword process).
pub(crate) fn record_from_map(
    datum: &Datum,
    line: usize,
    skipped: &mut Vec<(usize, String)>,
) -> Result<Option<Record>, ParseError> {
    let Datum::Map(entries) = datum else {
        return Err(ParseError {
            line,
            message: format!(
                "expected an operation map {{:process .., :type .., :f .., :value ..}}, found {}",
                datum.kind()
            ),
        });
    };
    record_from_fields(OpFields::of_map(entries), line, skipped)
}

fn record_from_fields(
    fields: OpFields<'_>,
    line: usize,
    skipped: &mut Vec<(usize, String)>,
) -> Result<Option<Record>, ParseError> {
    let err = |message: String| Err(ParseError { line, message });
    let process = match fields.process {
        Some(Entry::Datum(Datum::Int(p))) if p >= 0 => p as u64,
        Some(Entry::Name(name)) => {
            skipped.push((line, format!(":{name}")));
            return Ok(None);
        }
        Some(Entry::Datum(Datum::Keyword(name))) => {
            skipped.push((line, format!(":{name}")));
            return Ok(None);
        }
        Some(other) => {
            return err(format!("expected :process to be a non-negative integer or a keyword, found {other}"))
        }
        None => return err("expected a :process entry".into()),
    };
    let kind = match fields.kind.as_ref().and_then(Entry::as_name) {
        Some(name) => match RecordKind::from_name(name) {
            Some(kind) => kind,
            None => return err(format!("expected :type to be :invoke, :ok, :fail or :info, found :{name}")),
        },
        None => return err("expected a :type entry (:invoke, :ok, :fail or :info)".into()),
    };
    let f = match &fields.f {
        Some(d) => match d.as_name() {
            Some(name) => op_name(name),
            None => return err(format!("expected :f to be a keyword, found {d}")),
        },
        None => return err("expected an :f entry (the operation's name)".into()),
    };
    let time = match fields.time {
        None => None,
        Some(Entry::Datum(Datum::Int(t))) if t >= 0 => Some(t as u64),
        Some(other) => return err(format!("expected :time to be a non-negative integer, found {other}")),
    };
    Ok(Some(Record {
        line,
        process,
        kind,
        f,
        key: fields.key.map(Entry::into_datum),
        value: fields.value.map_or(Datum::Nil, Entry::into_datum),
        time,
    }))
}

impl Reader<'_> {
    /// Reads the operation map that starts here into a record (`None` for
    /// a non-client entry).
    fn read_record(&mut self, line: usize, skipped: &mut Vec<(usize, String)>) -> Result<Option<Record>, ParseError> {
        if self.text.get(self.pos) == Some(&b'{') {
            let fields = self.read_op_fields()?;
            return record_from_fields(fields, line, skipped);
        }
        let datum = self.read()?.expect("peeked a form");
        record_from_map(&datum, line, skipped)
    }
}

/// Reads an EDN history in any of the forms Jepsen and Knossos write: one
/// top-level vector `[ ... ]` or list `( ... )` of operation maps, or
/// top-level maps (usually one per line). Comments (`;` to the end of the
/// line) and `#_` discarded forms may stand anywhere between operations.
/// Each record carries the line where its map starts.
pub(crate) fn parse_history(text: &str, clock: &mut Clock) -> Result<Option<Records>, ParseError> {
    let mut reader = Reader::new(text, 1);
    let mut out = Records::for_text(text);
    let add = |reader: &mut Reader<'_>, line: usize, out: &mut Records| -> Result<(), ParseError> {
        if let Some(r) = reader.read_record(line, &mut out.skipped)? {
            out.records.push(r);
        }
        Ok(())
    };
    let opening = reader.peek_line()?.map(|_| reader.text[reader.pos]);
    if let Some(open @ (b'[' | b'(')) = opening {
        let (close, what) = if open == b'[' { (b']', "vector") } else { (b')', "list") };
        let opened = reader.line;
        reader.pos += 1;
        loop {
            let Some(line) = reader.peek_line()? else {
                return reader.err(format!(
                    "the file ends inside the history {what} opened at line {opened}; expected '{}'",
                    close as char
                ));
            };
            if reader.text[reader.pos] == close {
                reader.pos += 1;
                break;
            }
            if clock.passed() {
                return Ok(None);
            }
            add(&mut reader, line, &mut out)?;
        }
        if let Some(extra) = reader.peek_line()? {
            return Err(ParseError {
                line: extra,
                message: format!("expected the end of the file after the history {what}"),
            });
        }
        return Ok(Some(out));
    }
    while let Some(line) = reader.peek_line()? {
        add(&mut reader, line, &mut out)?;
    }
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_history(text: &str) -> Result<Records, ParseError> {
        crate::formats::parse(text, crate::formats::Format::Edn)
    }

    #[test]
    fn reads_forms() {
        let mut r = Reader::new("{:a [1 -2 3.5 nil \"x\\\"y\"], :b #{:k sym}} ; comment\n(true)", 1);
        let d = r.read().unwrap().unwrap();
        assert_eq!(d.to_string(), "{:a: [1, -2, 3.5, null, \"x\\\"y\"], :b: #{:k, sym}}");
        assert_eq!(r.peek_line(), Ok(Some(2)));
        assert_eq!(r.read().unwrap(), Some(Datum::List(vec![Datum::Bool(true)])));
        assert_eq!(r.read().unwrap(), None);
    }

    /// The same three operations written in every form Jepsen and Knossos
    /// use: a vector, a list, and one map per line, with comments and a
    /// discarded form between operations.
    #[test]
    fn every_history_form_reads_the_same_records() {
        let ops = [
            "{:process 0, :type :invoke, :f :write, :value 1}",
            "{:process 0, :type :ok, :f :write, :value 1}",
            "{:process 1, :type :invoke, :f :read, :value nil}",
            "{:process 1, :type :ok, :f :read, :value 1}",
        ];
        let lines = ops.join("\n; a comment between operations\n");
        let forms = [
            format!("; history.edn\n[{}]\n", ops.join("\n")),
            format!("({})", ops.join("\n ")),
            format!("(\n{}\n) ; trailing comment\n", ops.join("\n #_{:process 9, :type :bogus}\n")),
            lines.clone(),
            format!("{lines}\n#_ {{:process 7}}\n"),
        ];
        let expected = parse_history(&ops.join("\n")).unwrap().records;
        assert_eq!(expected.len(), 4);
        for text in &forms {
            let got = parse_history(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
            let kinds: Vec<_> = got.records.iter().map(|r| (r.process, r.kind, r.f.clone(), r.value.clone())).collect();
            let want: Vec<_> = expected.iter().map(|r| (r.process, r.kind, r.f.clone(), r.value.clone())).collect();
            assert_eq!(kinds, want, "{text:?}");
            assert_eq!(super::super::Format::detect(text), Some(super::super::Format::Edn), "{text:?}");
        }
        // Line numbers are where each map starts.
        let lined = parse_history(&forms[3]).unwrap();
        assert_eq!(lined.records.iter().map(|r| r.line).collect::<Vec<_>>(), vec![1, 3, 5, 7]);
        // An unclosed list and text after the closing bracket are errors.
        let e = parse_history("({:process 0, :type :invoke, :f :read}\n").unwrap_err();
        assert!(e.message.contains("ends inside the history list opened at line 1; expected ')'"), "{e}");
        let e = parse_history("[{:process 0, :type :invoke, :f :read}]\n{:process 0}").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("after the history vector"), "{e}");
        let e = parse_history("(#_)").unwrap_err();
        assert!(e.message.contains("unexpected ')'"), "{e}");
    }

    #[test]
    fn history_lines_nemesis_and_errors() {
        let text = "{:process 0, :type :invoke, :f :write, :value 1}\n{:process :nemesis, :type :info, :f :start}\n{:process 0, :type :ok, :f :write, :value 1}\n";
        let h = parse_history(text).unwrap();
        assert_eq!(h.records.len(), 2);
        assert_eq!(h.records[1].line, 3);
        assert_eq!(h.skipped, vec![(2, ":nemesis".to_string())]);
        let e = parse_history("{:process 0, :type :invoke, :f :write\n").unwrap_err();
        assert!(e.message.contains("ends inside a map opened at line 1"), "{e}");
        let e = parse_history("{:process 0, :type :begin, :f :write}").unwrap_err();
        assert!(e.message.contains(":type"), "{e}");
        let v = parse_history("[{:process 0, :type :invoke, :f :read}\n {:process 0, :type :ok, :f :read, :value 3}]")
            .unwrap();
        assert_eq!((v.records[1].line, &v.records[1].value), (2, &Datum::Int(3)));
    }
}
