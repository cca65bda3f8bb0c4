//! Numbers a quote writes in Chinese numerals, for the fidelity check: a seeded number must
//! appear in its quote, as digits or as a Chinese numeral that counts something.
//!
//! A run of numeral characters counts only where it is a quantity: followed by a classifier
//! (一个, 两个, 百名, 千名, 十大) or after 百分之 (百分之八十). An ordinal (第一年) is not, nor a
//! numeral inside a word (统一: no classifier follows). Runs are parsed by the `chinese-number`
//! crate; 两 is read as 二.

use chinese_number::{ChineseCountMethod, ChineseToNumber};

/// Characters a Chinese numeral is written with.
const NUMERAL: &str = "零一二两三四五六七八九十百千万";

/// Classifiers (measure words) after which a numeral is a count.
const CLASSIFIER: &str = "个名所张家项篇例台间组室人大位次种条批";

/// Every number the quote writes in Chinese numerals as a quantity.
pub fn chinese_numbers(quote: &str) -> Vec<f64> {
    let chars: Vec<char> = quote.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if !NUMERAL.contains(chars[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && NUMERAL.contains(chars[i]) {
            i += 1;
        }
        let run: String = chars[start..i].iter().collect();
        let before: String = chars[start.saturating_sub(3)..start].iter().collect();
        let percent = before.ends_with("百分之");
        // `百分之八十`: the run `百` before `分之` is the percent sign, not a number.
        let followed = chars.get(i).is_some_and(|c| CLASSIFIER.contains(*c));
        let ordinal = before.ends_with('第');
        if ordinal || !(percent || followed) {
            continue;
        }
        if let Some(n) = parse(&run) {
            out.push(n);
        }
    }
    out
}

fn parse(run: &str) -> Option<f64> {
    let normal = run.replace('两', "二");
    // `百名`, `千名`, `十大`: a leading unit means one of it.
    let normal = if normal.starts_with(['十', '百', '千', '万']) {
        format!("一{normal}")
    } else {
        normal
    };
    let n: Result<u64, _> = normal.to_number(ChineseCountMethod::TenThousand);
    n.ok().map(|n| n as f64)
}

#[cfg(test)]
mod tests {
    use super::chinese_numbers;

    #[test]
    fn counts_are_read_and_ordinals_and_names_are_not() {
        assert_eq!(chinese_numbers("启动百名医学学科带头人培育工作"), [100.0]);
        assert_eq!(
            chinese_numbers("在全市范围内启动千名技术骨干培养工作"),
            [1000.0]
        );
        assert_eq!(
            chinese_numbers("分配比例为:县级百分之八十,市级百分之二十。"),
            [80.0, 20.0]
        );
        assert_eq!(chinese_numbers("增加一个 PCR 室组。"), [1.0]);
        assert_eq!(
            chinese_numbers("继续完善我市两个市级危重孕产妇救治中心"),
            [2.0]
        );
        assert_eq!(
            chinese_numbers("启动覆盖重点疾病的十大医学临床重点专科建设工作"),
            [10.0]
        );
        assert_eq!(chinese_numbers("在第一年基础上再扩建一个分子实验室"), [1.0]);
        assert_eq!(chinese_numbers("统一加挂"), [] as [f64; 0]);
        assert_eq!(chinese_numbers("二十三名"), [23.0]);
    }
}
