//! A comparison as a file: CSV or an Excel workbook, written by the hub from the very cells it
//! answered (so the numbers in the file are the hub's, never a browser's arithmetic).
//!
//! Every row is one cell: the province total or a city, optionally a drill-down row, an
//! indicator and a year (or a span of years), with the target as the documents shape it
//! (comparator, value, min, max), the actual, the achievement rate and the caveats' notes.

use async_graphql::{ComplexObject, Enum, SimpleObject};
use base64::Engine as _;

use crate::compare::{Cell, Comparison, Figures, SpanCell};

/// 导出格式 — The file format of an export.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// 逗号分隔 — CSV (UTF-8 with a byte-order mark, so spreadsheet programs read the Chinese).
    Csv,
    /// Excel 工作簿 — An `.xlsx` workbook: sheets 对比 (years), 区间 (spans) and 说明 (notes).
    Xlsx,
}

/// 导出文件 — A comparison as a file.
#[derive(SimpleObject, Debug, Clone)]
pub struct Export {
    /// 文件名 — A file name for saving it.
    pub filename: String,
    /// 媒体类型 — Its media type.
    pub media_type: String,
    /// 内容 — The file, base64-encoded.
    pub base64: String,
    /// 行数 — Data rows (cells) in it.
    pub rows: i32,
}

/// The columns of every row.
const HEADER: [&str; 16] = [
    "范围 scope",
    "代码 code",
    "名称 name",
    "细分 row",
    "指标 indicator",
    "起 from",
    "止 to",
    "目标比较 comparator",
    "目标 target",
    "目标下限 target min",
    "目标上限 target max",
    "实绩 actual",
    "实绩下限 actual min",
    "实绩上限 actual max",
    "完成率 achievement rate",
    "存疑 caveats",
];

/// One row: texts and numbers (a number stays a number in the workbook).
#[derive(Debug, Clone)]
enum Value {
    Text(String),
    Number(Option<f64>),
}

fn row(
    scope: &str,
    code: &str,
    name: &str,
    breakdown: &str,
    indicator: &str,
    (from, to): (i32, i32),
    f: &Figures,
) -> Vec<Value> {
    let t = f.target.as_ref();
    let caveats: Vec<String> = f
        .caveats
        .iter()
        .filter_map(|c| c.note.clone().or_else(|| c.quote.clone()))
        .collect();
    let mut notes = caveats.join("；");
    if let Some(n) = f
        .not_combined
        .as_deref()
        .or(t.and_then(|t| t.not_combined.as_deref()))
    {
        if !notes.is_empty() {
            notes.push('；');
        }
        notes.push_str(&format!("未合并 not combined: {n}"));
    }
    vec![
        Value::Text(scope.to_owned()),
        Value::Text(code.to_owned()),
        Value::Text(name.to_owned()),
        Value::Text(breakdown.to_owned()),
        Value::Text(indicator.to_owned()),
        Value::Number(Some(f64::from(from))),
        Value::Number(Some(f64::from(to))),
        Value::Text(t.map(|t| comparator(t.comparator)).unwrap_or_default()),
        Value::Number(t.and_then(|t| t.value)),
        Value::Number(t.and_then(|t| t.min)),
        Value::Number(t.and_then(|t| t.max)),
        Value::Number(f.actual),
        Value::Number(f.actual_min),
        Value::Number(f.actual_max),
        Value::Number(f.achievement_rate),
        Value::Text(notes),
    ]
}

/// The comparator as the API spells it (`AT_LEAST`).
fn comparator(c: city_schema::enums::Comparator) -> String {
    match async_graphql::resolver_utils::enum_value(c) {
        async_graphql::Value::Enum(name) => name.to_string(),
        other => other.to_string(),
    }
}

fn cell_rows(
    scope: &str,
    code: &str,
    name: &str,
    breakdown: &str,
    cells: &[Cell],
) -> Vec<Vec<Value>> {
    cells
        .iter()
        .map(|c| {
            row(
                scope,
                code,
                name,
                breakdown,
                &c.indicator,
                (c.year, c.year),
                &c.figures,
            )
        })
        .collect()
}

fn span_rows(
    scope: &str,
    code: &str,
    name: &str,
    breakdown: &str,
    spans: &[SpanCell],
) -> Vec<Vec<Value>> {
    spans
        .iter()
        .map(|s| {
            row(
                scope,
                code,
                name,
                breakdown,
                &s.indicator,
                (s.from, s.to),
                &s.figures,
            )
        })
        .collect()
}

/// The yearly rows and the span rows of a comparison.
fn tables(c: &Comparison) -> (Vec<Vec<Value>>, Vec<Vec<Value>>) {
    let mut years = cell_rows("PROVINCE", "140000", "全省合计", "", &c.province_totals);
    let mut spans = span_rows("PROVINCE", "140000", "全省合计", "", &c.province_spans);
    for city in &c.cities {
        years.extend(cell_rows(
            "CITY",
            &city.code,
            &city.name_zh,
            "",
            &city.cells,
        ));
        spans.extend(span_rows(
            "CITY",
            &city.code,
            &city.name_zh,
            "",
            &city.spans,
        ));
        for b in &city.breakdown {
            let label = format!("{} {}", b.kind, b.name_zh.as_deref().unwrap_or(&b.id));
            years.extend(cell_rows(
                "CITY",
                &city.code,
                &city.name_zh,
                &label,
                &b.cells,
            ));
            spans.extend(span_rows(
                "CITY",
                &city.code,
                &city.name_zh,
                &label,
                &b.spans,
            ));
        }
    }
    (years, spans)
}

fn csv(rows: &[Vec<Value>]) -> String {
    let quote = |s: &str| {
        if s.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_owned()
        }
    };
    let mut out = String::from("\u{feff}");
    out.push_str(
        &HEADER
            .iter()
            .map(|h| quote(h))
            .collect::<Vec<_>>()
            .join(","),
    );
    out.push_str("\r\n");
    for r in rows {
        let line: Vec<String> = r
            .iter()
            .map(|v| match v {
                Value::Text(t) => quote(t),
                Value::Number(Some(n)) => format!("{n}"),
                Value::Number(None) => String::new(),
            })
            .collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    out
}

fn sheet(
    book: &mut rust_xlsxwriter::Workbook,
    name: &str,
    rows: &[Vec<Value>],
) -> Result<(), rust_xlsxwriter::XlsxError> {
    let bold = rust_xlsxwriter::Format::new().set_bold();
    let ws = book.add_worksheet();
    ws.set_name(name)?;
    for (col, h) in (0u16..).zip(HEADER) {
        ws.write_string_with_format(0, col, h, &bold)?;
    }
    for (r, values) in (1u32..).zip(rows) {
        for (col, v) in (0u16..).zip(values) {
            match v {
                Value::Text(t) if !t.is_empty() => {
                    ws.write_string(r, col, t)?;
                }
                Value::Number(Some(n)) => {
                    ws.write_number(r, col, *n)?;
                }
                _ => {}
            }
        }
    }
    ws.set_freeze_panes(1, 0)?;
    ws.autofit();
    Ok(())
}

fn xlsx(
    years: &[Vec<Value>],
    spans: &[Vec<Value>],
    notes: &[String],
) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    let mut book = rust_xlsxwriter::Workbook::new();
    sheet(&mut book, "对比", years)?;
    sheet(&mut book, "区间", spans)?;
    let ws = book.add_worksheet();
    ws.set_name("说明")?;
    for (r, n) in (0u32..).zip(notes) {
        ws.write_string(r, 0, n)?;
    }
    book.save_to_buffer()
}

#[ComplexObject]
impl Comparison {
    /// 导出 — This comparison as a file (CSV or an Excel workbook), with the hub's numbers:
    /// one row per cell — the province total, each city and each drill-down row, per year,
    /// and (in the workbook) per span — with targets as the documents shape them, actuals,
    /// achievement rates and the caveats' notes.
    async fn export(&self, format: ExportFormat) -> async_graphql::Result<Export> {
        let (years, spans) = tables(self);
        let rows = i32::try_from(years.len()).unwrap_or(i32::MAX);
        let stamp = chrono::Utc::now().format("%Y%m%d-%H%M%S");
        let (filename, media_type, bytes) = match format {
            ExportFormat::Csv => (
                format!("xingyi-compare-{stamp}.csv"),
                "text/csv; charset=utf-8",
                csv(&years).into_bytes(),
            ),
            ExportFormat::Xlsx => {
                let mut notes = vec![
                    "xingyi 兴医 — 城市对比 comparison, exported by the province hub".to_owned(),
                    format!("导出时间 exported at (UTC): {}", chrono::Utc::now().to_rfc3339()),
                    "目标比较 comparator: EXACT 确数, AT_LEAST 不少于, AT_MOST 不超过, ABOUT 约, RANGE 区间, UNKNOWN 未定".to_owned(),
                    "存疑 caveats: the documents' own notes on targets they leave ambiguous; nothing is guessed".to_owned(),
                ];
                for city in &self.cities {
                    notes.push(format!(
                        "{} {}: answered by {:?}{}",
                        city.code,
                        city.name_zh,
                        city.freshness.answered_by,
                        if city.freshness.stale { " (stale)" } else { "" }
                    ));
                }
                let bytes = xlsx(&years, &spans, &notes).map_err(|e| {
                    tracing::error!(error = %e, "cannot write the comparison workbook");
                    city_schema::error::coded(codes::Code::Internal, "internal error")
                })?;
                (
                    format!("xingyi-compare-{stamp}.xlsx"),
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    bytes,
                )
            }
        };
        Ok(Export {
            filename,
            media_type: media_type.to_owned(),
            base64: base64::engine::general_purpose::STANDARD.encode(bytes),
            rows,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparators_are_spelled_as_the_api_spells_them() {
        assert_eq!(
            comparator(city_schema::enums::Comparator::AtLeast),
            "AT_LEAST"
        );
        assert_eq!(comparator(city_schema::enums::Comparator::Range), "RANGE");
    }

    #[test]
    fn csv_quotes_what_needs_quoting() {
        let rows = vec![vec![
            Value::Text("a,b".into()),
            Value::Text("say \"x\"".into()),
            Value::Number(Some(1.5)),
            Value::Number(None),
        ]];
        let out = csv(&rows);
        assert!(out.starts_with('\u{feff}'));
        assert!(out.ends_with("\"a,b\",\"say \"\"x\"\"\",1.5,\r\n"), "{out}");
    }
}
