//! Regions by GB/T 2260 administrative code: Shanxi province (140000), its 11 prefecture-level
//! cities, and Linfen's 17 counties (the Linfen plan sets targets per county).
//!
//! The codes are the national standard, not seed data; the list is static so every server
//! agrees on it without syncing.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

use crate::ValidationError;

/// A six-digit GB/T 2260 code (100000..=999999).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RegionCode(u32);

/// Shanxi province.
pub const SHANXI: RegionCode = RegionCode(140000);
/// 运城市 Yuncheng.
pub const YUNCHENG: RegionCode = RegionCode(140800);
/// 临汾市 Linfen.
pub const LINFEN: RegionCode = RegionCode(141000);

impl RegionCode {
    /// Checks the code has six digits.
    pub fn new(code: u32) -> Result<Self, ValidationError> {
        if (100000..=999999).contains(&code) {
            Ok(Self(code))
        } else {
            Err(ValidationError::new(
                "region",
                "BAD_REGION",
                format!("`{code}` is not a six-digit code"),
            ))
        }
    }

    /// The numeric code.
    pub fn get(self) -> u32 {
        self.0
    }

    /// The province this code belongs to (first two digits, then zeros).
    pub fn province(self) -> RegionCode {
        RegionCode(self.0 / 10000 * 10000)
    }

    /// The prefecture-level city (first four digits, then zeros); a province is its own city.
    pub fn city(self) -> RegionCode {
        RegionCode(self.0 / 100 * 100)
    }

    /// True for a province-level code (ends in 0000).
    pub fn is_province(self) -> bool {
        self.0.is_multiple_of(10000)
    }
}

impl fmt::Display for RegionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for RegionCode {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() != 6 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ValidationError::new(
                "region",
                "BAD_REGION",
                format!("`{s}` is not a six-digit code"),
            ));
        }
        s.parse::<u32>()
            .map_err(|_| {
                ValidationError::new("region", "BAD_REGION", format!("`{s}` is not a number"))
            })
            .and_then(Self::new)
    }
}

impl TryFrom<String> for RegionCode {
    type Error = ValidationError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<RegionCode> for String {
    fn from(c: RegionCode) -> String {
        c.to_string()
    }
}

/// The administrative level of a region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegionLevel {
    /// 省 province.
    Province,
    /// 地级市 prefecture-level city.
    City,
    /// 县 / 县级市 / 区 county-level division.
    County,
}

/// A region known to xingyi.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    /// GB/T 2260 code.
    pub code: RegionCode,
    /// Chinese name.
    pub name_zh: &'static str,
    /// English (pinyin) name.
    pub name_en: &'static str,
    /// Administrative level.
    pub level: RegionLevel,
}

impl Region {
    /// The parent region (city for a county, province for a city), `None` for the province.
    pub fn parent(&self) -> Option<RegionCode> {
        match self.level {
            RegionLevel::Province => None,
            RegionLevel::City => Some(self.code.province()),
            RegionLevel::County => Some(self.code.city()),
        }
    }
}

const fn r(code: u32, name_zh: &'static str, name_en: &'static str, level: RegionLevel) -> Region {
    Region {
        code: RegionCode(code),
        name_zh,
        name_en,
        level,
    }
}

/// Shanxi, its 11 cities, and Linfen's 17 counties (GB/T 2260).
pub static REGIONS: &[Region] = &[
    r(140000, "山西省", "Shanxi", RegionLevel::Province),
    r(140100, "太原市", "Taiyuan", RegionLevel::City),
    r(140200, "大同市", "Datong", RegionLevel::City),
    r(140300, "阳泉市", "Yangquan", RegionLevel::City),
    r(140400, "长治市", "Changzhi", RegionLevel::City),
    r(140500, "晋城市", "Jincheng", RegionLevel::City),
    r(140600, "朔州市", "Shuozhou", RegionLevel::City),
    r(140700, "晋中市", "Jinzhong", RegionLevel::City),
    r(140800, "运城市", "Yuncheng", RegionLevel::City),
    r(140900, "忻州市", "Xinzhou", RegionLevel::City),
    r(141000, "临汾市", "Linfen", RegionLevel::City),
    r(141100, "吕梁市", "Lüliang", RegionLevel::City),
    r(141002, "尧都区", "Yaodu", RegionLevel::County),
    r(141021, "曲沃县", "Quwo", RegionLevel::County),
    r(141022, "翼城县", "Yicheng", RegionLevel::County),
    r(141023, "襄汾县", "Xiangfen", RegionLevel::County),
    r(141024, "洪洞县", "Hongtong", RegionLevel::County),
    r(141025, "古县", "Guxian", RegionLevel::County),
    r(141026, "安泽县", "Anze", RegionLevel::County),
    r(141027, "浮山县", "Fushan", RegionLevel::County),
    r(141028, "吉县", "Jixian", RegionLevel::County),
    r(141029, "乡宁县", "Xiangning", RegionLevel::County),
    r(141030, "大宁县", "Daning", RegionLevel::County),
    r(141031, "隰县", "Xixian", RegionLevel::County),
    r(141032, "永和县", "Yonghe", RegionLevel::County),
    r(141033, "蒲县", "Puxian", RegionLevel::County),
    r(141034, "汾西县", "Fenxi", RegionLevel::County),
    r(141081, "侯马市", "Houma", RegionLevel::County),
    r(141082, "霍州市", "Huozhou", RegionLevel::County),
];

/// Looks a region up by code.
pub fn region(code: RegionCode) -> Option<&'static Region> {
    REGIONS.iter().find(|r| r.code == code)
}

/// The 11 prefecture-level cities of Shanxi.
pub fn cities() -> impl Iterator<Item = &'static Region> {
    REGIONS.iter().filter(|r| r.level == RegionLevel::City)
}

/// How many counties `city` has, when the table lists them (Linfen's 17 are listed in full;
/// other cities' are not listed, so `None`): the population a coverage of counties is capped at.
pub fn counties_of(city: RegionCode) -> Option<u32> {
    let n = REGIONS
        .iter()
        .filter(|r| r.level == RegionLevel::County && r.parent() == Some(city))
        .count();
    u32::try_from(n).ok().filter(|n| *n > 0)
}

/// Looks a region up by its Chinese name (e.g. `永和县`), as seed documents name them.
pub fn region_by_name(name_zh: &str) -> Option<&'static Region> {
    REGIONS.iter().find(|r| r.name_zh == name_zh)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shanxi_has_eleven_cities_and_linfen_seventeen_counties() {
        assert_eq!(cities().count(), 11);
        let linfen_counties = REGIONS
            .iter()
            .filter(|r| r.level == RegionLevel::County && r.parent() == Some(LINFEN));
        assert_eq!(linfen_counties.count(), 17);
    }

    #[test]
    fn codes_are_unique_and_consistent_with_level() {
        let mut codes: Vec<u32> = REGIONS.iter().map(|r| r.code.get()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), REGIONS.len());
        for r in REGIONS {
            match r.level {
                RegionLevel::Province => assert!(r.code.is_province()),
                RegionLevel::City => assert_eq!(r.code.city(), r.code, "{}", r.name_zh),
                RegionLevel::County => assert_ne!(r.code.city(), r.code, "{}", r.name_zh),
            }
            if let Some(p) = r.parent() {
                assert!(region(p).is_some(), "parent of {} is known", r.name_zh);
            }
        }
    }

    #[test]
    fn parses_and_rejects_codes() {
        assert_eq!("141032".parse::<RegionCode>().unwrap().city(), LINFEN);
        for bad in ["", "14080", "1408000", "14a800", "-14080", "099999"] {
            assert!(bad.parse::<RegionCode>().is_err(), "{bad}");
        }
    }
}
