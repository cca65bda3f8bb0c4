//! A unit's yearly table as CSV — the shape city offices keep in spreadsheets: one row per
//! indicator, one column per year.
//!
//! ```text
//! indicator,name_zh,unit,2020,2021,2022
//! beds_added,新增床位,张,50,,20
//! doctors_added,新增医师,名,3,2,2
//! ```
//!
//! Recognised columns (English or Chinese header): `indicator`/`指标代码` (required; a catalogue
//! code or its Chinese name), `name_zh`/`指标名称` (ignored on import), `unit`/`单位` (must be
//! the indicator's unit), `note`/`备注` (kept on every value of the row) and four-digit years.
//! An empty cell is no report. Numbers may carry thousands separators.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use store::entity::{actual, indicator};

/// One value read from the table.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    /// 1-based line in the file.
    pub line: usize,
    /// Catalogue code.
    pub indicator: String,
    /// Year (the column).
    pub year: i32,
    /// Value.
    pub value: f64,
    /// The row's unit, when given.
    pub unit: Option<String>,
    /// The row's note, when given.
    pub note: Option<String>,
}

/// A problem with the table itself (before any value is checked against the data).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line.
    pub line: usize,
    /// Column header (or `""` for the whole line).
    pub column: String,
    /// Rule code.
    pub rule: &'static str,
    /// Message.
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Indicator,
    Name,
    Unit,
    Note,
    Year(i32),
}

fn column(header: &str) -> Option<Column> {
    let h = header.trim().trim_start_matches('\u{feff}');
    match h.to_ascii_lowercase().as_str() {
        "indicator" | "指标代码" | "指标" => Some(Column::Indicator),
        "name_zh" | "指标名称" | "名称" => Some(Column::Name),
        "unit" | "单位" => Some(Column::Unit),
        "note" | "备注" => Some(Column::Note),
        y if y.len() == 4 && y.bytes().all(|b| b.is_ascii_digit()) => {
            y.parse().ok().map(Column::Year)
        }
        y => y
            .strip_suffix('年')
            .filter(|y| y.len() == 4)
            .and_then(|y| y.parse().ok())
            .map(Column::Year),
    }
}

fn number(text: &str) -> Option<f64> {
    let cleaned: String = text
        .chars()
        .filter(|c| !matches!(c, ',' | '，' | ' ' | '\u{3000}'))
        .collect();
    cleaned.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// Reads a table. Returns every value it could read and every problem it found.
pub fn parse(text: &str, catalogue: &[indicator::Model]) -> (Vec<Cell>, Vec<Problem>) {
    let mut cells = Vec::new();
    let mut problems = Vec::new();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let mut records = reader.records();
    let headers: Vec<String> = match records.next() {
        Some(Ok(r)) => r.iter().map(str::to_owned).collect(),
        Some(Err(e)) => {
            problems.push(Problem {
                line: 1,
                column: String::new(),
                rule: "BAD_CSV",
                message: e.to_string(),
            });
            return (cells, problems);
        }
        None => {
            problems.push(Problem {
                line: 1,
                column: String::new(),
                rule: "EMPTY",
                message: "the table is empty".into(),
            });
            return (cells, problems);
        }
    };
    let columns: Vec<Option<Column>> = headers.iter().map(|h| column(h)).collect();
    for (h, c) in headers.iter().zip(&columns) {
        if c.is_none() && !h.is_empty() {
            problems.push(Problem {
                line: 1,
                column: h.clone(),
                rule: "UNKNOWN_COLUMN",
                message: format!("`{h}` is not indicator, name_zh, unit, note or a year"),
            });
        }
    }
    let Some(ind_col) = columns.iter().position(|c| *c == Some(Column::Indicator)) else {
        problems.push(Problem {
            line: 1,
            column: String::new(),
            rule: "NO_INDICATOR_COLUMN",
            message: "the header needs an `indicator` (指标代码) column".into(),
        });
        return (cells, problems);
    };
    if !columns.iter().any(|c| matches!(c, Some(Column::Year(_)))) {
        problems.push(Problem {
            line: 1,
            column: String::new(),
            rule: "NO_YEAR_COLUMN",
            message: "the header needs at least one year column (2020, 2021 …)".into(),
        });
    }
    let by_name: BTreeMap<&str, &str> = catalogue
        .iter()
        .flat_map(|m| {
            [
                (m.code.as_str(), m.code.as_str()),
                (m.name_zh.as_str(), m.code.as_str()),
            ]
        })
        .collect();
    let mut seen: HashSet<(String, i32)> = HashSet::new();
    for (i, record) in records.enumerate() {
        let line = i + 2;
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                problems.push(Problem {
                    line,
                    column: String::new(),
                    rule: "BAD_CSV",
                    message: e.to_string(),
                });
                continue;
            }
        };
        if record.iter().all(str::is_empty) {
            continue;
        }
        let get = |c: Column| {
            columns
                .iter()
                .position(|x| *x == Some(c))
                .and_then(|p| record.get(p))
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        let raw = record.get(ind_col).unwrap_or_default();
        let Some(code) = by_name.get(raw).map(|c| (*c).to_owned()) else {
            problems.push(Problem {
                line,
                column: headers[ind_col].clone(),
                rule: "UNKNOWN_INDICATOR",
                message: format!(
                    "`{raw}` is neither a catalogue code nor an indicator's Chinese name"
                ),
            });
            continue;
        };
        let (unit, note) = (get(Column::Unit), get(Column::Note));
        for (p, c) in columns.iter().enumerate() {
            let Some(Column::Year(year)) = c else {
                continue;
            };
            let text = record.get(p).unwrap_or_default();
            if text.is_empty() {
                continue;
            }
            let Some(value) = number(text) else {
                problems.push(Problem {
                    line,
                    column: headers[p].clone(),
                    rule: "NOT_A_NUMBER",
                    message: format!("`{text}` is not a number"),
                });
                continue;
            };
            if !seen.insert((code.clone(), *year)) {
                problems.push(Problem {
                    line,
                    column: headers[p].clone(),
                    rule: "DUPLICATE_CELL",
                    message: format!("{code} for {year} appears more than once"),
                });
                continue;
            }
            cells.push(Cell {
                line,
                indicator: code.clone(),
                year: *year,
                value,
                unit: unit.clone(),
                note: note.clone(),
            });
        }
    }
    (cells, problems)
}

/// Writes a unit's yearly actuals as a table (whole-year periods only; other periods are left
/// out and counted in the second value).
pub fn render(actuals: &[actual::Model], catalogue: &[indicator::Model]) -> (String, usize) {
    let mut years = BTreeSet::new();
    let mut values: BTreeMap<&str, BTreeMap<i32, f64>> = BTreeMap::new();
    let mut skipped = 0;
    for a in actuals {
        let whole_year = a.period_start % 100 == 1
            && a.period_end % 100 == 12
            && a.period_start / 100 == a.period_end / 100;
        if !whole_year {
            skipped += 1;
            continue;
        }
        let year = a.period_end / 100;
        years.insert(year);
        values
            .entry(a.indicator.as_str())
            .or_default()
            .insert(year, a.value);
    }
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header = vec![
        "indicator".to_owned(),
        "name_zh".to_owned(),
        "unit".to_owned(),
    ];
    header.extend(years.iter().map(ToString::to_string));
    let _ = w.write_record(&header);
    for (code, by_year) in &values {
        let m = catalogue.iter().find(|m| m.code == *code);
        let mut row = vec![
            (*code).to_owned(),
            m.map(|m| m.name_zh.clone()).unwrap_or_default(),
            m.map(|m| m.unit.clone()).unwrap_or_default(),
        ];
        row.extend(
            years
                .iter()
                .map(|y| by_year.get(y).map(ToString::to_string).unwrap_or_default()),
        );
        let _ = w.write_record(&row);
    }
    let text = w
        .into_inner()
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .unwrap_or_default();
    (text, skipped)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ind(code: &str, name: &str) -> indicator::Model {
        indicator::Model {
            code: code.into(),
            name_zh: name.into(),
            name_en: code.into(),
            unit: "张".into(),
            value_type: "integer".into(),
            aggregation: "sum".into(),
            over_scopes: "sum".into(),
            description_zh: None,
            formula: None,
            counts_units: None,
            version: 1,
        }
    }

    #[test]
    fn reads_codes_names_years_and_reports_every_problem() {
        let cat = [
            ind("beds_added", "新增床位"),
            ind("doctors_added", "新增医师"),
        ];
        let text = "指标代码,指标名称,单位,2020年,2021,colour\n\
                    beds_added,新增床位,张,\"1,050\",,x\n\
                    新增医师,,名,3,abc\n\
                    nope,,,1,2\n\
                    beds_added,,,7,\n";
        let (cells, problems) = parse(text, &cat);
        assert_eq!(
            cells
                .iter()
                .map(|c| (c.line, c.indicator.as_str(), c.year, c.value))
                .collect::<Vec<_>>(),
            [
                (2, "beds_added", 2020, 1050.0),
                (3, "doctors_added", 2020, 3.0)
            ]
        );
        let rules: Vec<(usize, &str)> = problems.iter().map(|p| (p.line, p.rule)).collect();
        assert_eq!(
            rules,
            [
                (1, "UNKNOWN_COLUMN"),
                (3, "NOT_A_NUMBER"),
                (4, "UNKNOWN_INDICATOR"),
                (5, "DUPLICATE_CELL")
            ]
        );
        assert_eq!(
            cells[1].unit.as_deref(),
            Some("名"),
            "the unit is checked later, against the catalogue"
        );
    }

    #[test]
    fn a_table_without_indicator_or_years_is_refused() {
        let (_, p) = parse("name,unit\nx,y\n", &[]);
        assert!(p.iter().any(|p| p.rule == "NO_INDICATOR_COLUMN"));
        let (_, p) = parse("indicator,unit\nx,y\n", &[]);
        assert!(p.iter().any(|p| p.rule == "NO_YEAR_COLUMN"));
        let (_, p) = parse("", &[]);
        assert_eq!(p[0].rule, "EMPTY");
    }
}
