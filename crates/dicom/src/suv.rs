//! Standardized uptake value (body weight) of PET images, from the file's own tags, as the
//! QIBA FDG-PET/CT profile's vendor-neutral calculation does it:
//!
//! SUVbw = activity concentration (Bq/ml) × weight (g) / (injected dose (Bq) × decay), where
//! decay = 2^(−Δt / half-life) and Δt runs from the radiopharmaceutical's start to the scan
//! (Series Date/Time, else Acquisition Date/Time) when the image is decay corrected to its
//! start (Decay Correction START), and decay = 1 when it is corrected to the administration
//! (ADMIN). Images already in SUV (Units GML) have factor 1. Anything else (other units, no
//! attenuation or decay correction, a missing weight, dose, half-life or time) gives no SUV,
//! with the reason, so the viewer says why instead of showing a wrong number.

use crate::dataset::{DataSet, Tag};
use serde::Serialize;

const UNITS: Tag = Tag(0x0054, 0x1001);
const CORRECTED_IMAGE: Tag = Tag(0x0028, 0x0051);
const DECAY_CORRECTION: Tag = Tag(0x0054, 0x1102);
const PATIENT_WEIGHT: Tag = Tag(0x0010, 0x1030);
const RADIOPHARMACEUTICAL_INFORMATION_SEQUENCE: Tag = Tag(0x0054, 0x0016);
const RADIONUCLIDE_TOTAL_DOSE: Tag = Tag(0x0018, 0x1074);
const RADIONUCLIDE_HALF_LIFE: Tag = Tag(0x0018, 0x1075);
const RADIOPHARMACEUTICAL_START_TIME: Tag = Tag(0x0018, 0x1072);
const RADIOPHARMACEUTICAL_START_DATE_TIME: Tag = Tag(0x0018, 0x1078);
const SERIES_DATE: Tag = Tag(0x0008, 0x0021);
const SERIES_TIME: Tag = Tag(0x0008, 0x0031);
const ACQUISITION_DATE: Tag = Tag(0x0008, 0x0022);
const ACQUISITION_TIME: Tag = Tag(0x0008, 0x0032);

/// How modality values become SUVbw: multiply by `factor`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Suv {
    /// g/ml per Bq/ml (1 for images already in SUV).
    pub factor: f64,
    /// What it was computed from, for the viewer to show ("72.5 kg, 370 MBq at 10:00:00, …").
    pub basis: String,
}

/// Seconds since 0000-01-01 of a DICOM date (YYYYMMDD) and time (HHMMSS.FFFFFF, or with
/// colons as older files write it).
fn seconds(date: &str, time: &str) -> Option<f64> {
    let d = date.trim();
    if d.len() != 8 || !d.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (y, m, day): (i64, i64, i64) = (d[0..4].parse().ok()?, d[4..6].parse().ok()?, d[6..8].parse().ok()?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) {
        return None;
    }
    // Days from civil (proleptic Gregorian).
    let (yy, mm) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
    let era = yy.div_euclid(400);
    let yoe = yy - era * 400;
    let doy = (153 * mm + 2) / 5 + day - 1;
    let days = era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(days as f64 * 86_400.0 + time_of_day(time)?)
}

fn time_of_day(time: &str) -> Option<f64> {
    let t: String = time.trim().chars().filter(|&c| c != ':').collect();
    let (whole, frac) = t.split_once('.').unwrap_or((&t, ""));
    if whole.len() < 2 || whole.len() % 2 != 0 || whole.len() > 6 || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let part = |i: usize| whole.get(i..i + 2).map_or(Some(0.0), |s| s.parse::<f64>().ok());
    let (h, m, s) = (part(0)?, part(2)?, part(4)?);
    let f = if frac.is_empty() { 0.0 } else { format!("0.{frac}").parse::<f64>().ok()? };
    (h < 24.0 && m < 60.0 && s < 61.0).then_some(h * 3600.0 + m * 60.0 + s + f)
}

/// A DT value (YYYYMMDDHHMMSS.FFFFFF, an offset ignored: both times come from one scanner).
fn date_time(dt: &str) -> Option<f64> {
    let v = dt.trim();
    let v = v.split(['+', '-']).next()?;
    if v.len() < 8 {
        return None;
    }
    seconds(&v[..8], if v.len() > 8 { &v[8..] } else { "000000" })
}

fn hms(s: f64) -> String {
    let t = s.rem_euclid(86_400.0);
    format!("{:02}:{:02}:{:02}", (t / 3600.0) as u32, (t % 3600.0 / 60.0) as u32, (t % 60.0) as u32)
}

impl Suv {
    /// The SUVbw scale of a PET data set, or why there is none.
    pub fn read(ds: &DataSet) -> Result<Suv, String> {
        let units = ds.string(UNITS).map(|u| u.trim().to_ascii_uppercase()).unwrap_or_default();
        if units == "GML" {
            return Ok(Suv { factor: 1.0, basis: "values already in SUVbw (Units GML)".into() });
        }
        if units != "BQML" {
            return Err(if units.is_empty() { "no Units (0054,1001)".into() } else { format!("Units {units}, not BQML") });
        }
        let corrected = ds.strings(CORRECTED_IMAGE).iter().map(|s| s.trim().to_ascii_uppercase()).collect::<Vec<_>>();
        for need in ["ATTN", "DECY"] {
            if !corrected.iter().any(|c| c == need) {
                return Err(format!("Corrected Image (0028,0051) lacks {need}"));
            }
        }
        let decay_ref = ds.string(DECAY_CORRECTION).map(|u| u.trim().to_ascii_uppercase()).unwrap_or_default();
        let weight = ds.number(PATIENT_WEIGHT).filter(|w| w.is_finite() && *w > 0.0).ok_or("no Patient's Weight (0010,1030)")?;
        let item = ds.items(RADIOPHARMACEUTICAL_INFORMATION_SEQUENCE).first().ok_or("no Radiopharmaceutical Information Sequence (0054,0016)")?;
        let dose = item.number(RADIONUCLIDE_TOTAL_DOSE).filter(|d| d.is_finite() && *d > 0.0).ok_or("no Radionuclide Total Dose (0018,1074)")?;
        let half_life = item.number(RADIONUCLIDE_HALF_LIFE).filter(|h| h.is_finite() && *h > 0.0).ok_or("no Radionuclide Half Life (0018,1075)")?;
        let (decay, timing) = match decay_ref.as_str() {
            "ADMIN" => (1.0, "decay corrected to administration".to_string()),
            "START" => {
                let scan = ds
                    .string(SERIES_DATE)
                    .zip(ds.string(SERIES_TIME))
                    .and_then(|(d, t)| seconds(&d, &t))
                    .or_else(|| ds.string(ACQUISITION_DATE).zip(ds.string(ACQUISITION_TIME)).and_then(|(d, t)| seconds(&d, &t)))
                    .ok_or("no usable Series (or Acquisition) Date and Time")?;
                // The start date-time when given; else the start time on the scan's day, the day
                // before when that would put the injection after the scan.
                let start = match item.string(RADIOPHARMACEUTICAL_START_DATE_TIME).and_then(|v| date_time(&v)) {
                    Some(s) => s,
                    None => {
                        let t = item.string(RADIOPHARMACEUTICAL_START_TIME).and_then(|v| time_of_day(&v)).ok_or("no Radiopharmaceutical Start (Date)Time (0018,1078/1072)")?;
                        let day = scan - scan.rem_euclid(86_400.0);
                        if day + t > scan { day + t - 86_400.0 } else { day + t }
                    }
                };
                let dt = scan - start;
                if !(0.0..=7.0 * 86_400.0).contains(&dt) {
                    return Err(format!("the scan is {dt:.0} s after the injection"));
                }
                (2f64.powf(-dt / half_life), format!("{:.0} s from injection at {} to the scan at {}", dt, hms(start), hms(scan)))
            }
            "" => return Err("no Decay Correction (0054,1102)".into()),
            other => return Err(format!("Decay Correction {other}, not START or ADMIN")),
        };
        Ok(Suv {
            factor: weight * 1000.0 / (dose * decay),
            basis: format!("{weight} kg, {:.1} MBq, half-life {half_life} s, {timing}", dose / 1e6),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_times() {
        assert_eq!(seconds("20260101", "000000").unwrap() - seconds("20251231", "000000").unwrap(), 86_400.0);
        assert_eq!(seconds("20240301", "0").map(|_| ()), None);
        assert_eq!(time_of_day("11:02:30.5"), Some(39_750.5));
        assert_eq!(time_of_day("1102"), Some(39_720.0));
        assert_eq!(time_of_day("25"), None);
        assert_eq!(date_time("20251231235500.25+0100").unwrap() - seconds("20251231", "235500").unwrap(), 0.25);
        // 2024 is a leap year: 1 March follows 29 February.
        assert_eq!(seconds("20240301", "000000").unwrap() - seconds("20240228", "000000").unwrap(), 2.0 * 86_400.0);
    }
}
