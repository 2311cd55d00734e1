//! SigLIP / MedSigLIP image preprocessing: resize to the model's square, rescale by 1/255,
//! normalize with mean and std (0.5 for MedSigLIP). Output is `[3, S, S]` f32, row-major.
//!
//! Two resizes:
//! - [`Resize::Card`] (default): bilinear with half-pixel centres and no antialiasing, in
//!   floating point, as the MedSigLIP card's `tf.image.resize(..., antialias=False)` (equal to
//!   torch's `interpolate(bilinear, align_corners=False, antialias=False)`).
//! - [`Resize::Pil`]: PIL's `Image.resize(BILINEAR)` on 8-bit values (a triangle filter widened
//!   by the scale when shrinking, 22-bit fixed-point coefficients, horizontal pass then
//!   vertical, each rounded to 8 bits), as transformers' `SiglipImageProcessor` does.

/// How to resize.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Resize {
    #[default]
    Card,
    Pil,
}

impl std::str::FromStr for Resize {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "card" | "tf" | "bilinear" => Ok(Self::Card),
            "pil" => Ok(Self::Pil),
            o => Err(format!("unknown resize `{o}` (card or pil)")),
        }
    }
}

/// Preprocessing parameters (from `preprocessor_config.json` where present).
#[derive(Debug, Clone, PartialEq)]
pub struct Preprocess {
    pub size: usize,
    pub mean: [f32; 3],
    pub std: [f32; 3],
    pub rescale: f32,
    pub resize: Resize,
}

impl Preprocess {
    pub fn medsiglip(size: usize) -> Self {
        Self { size, mean: [0.5; 3], std: [0.5; 3], rescale: 1.0 / 255.0, resize: Resize::Card }
    }

    /// Reads `preprocessor_config.json` (size, mean, std, rescale factor); missing fields keep
    /// MedSigLIP's values; `default_size` when the file has no size.
    pub fn from_dir(dir: &std::path::Path, default_size: usize) -> Self {
        let mut p = Self::medsiglip(default_size);
        let Ok(text) = crate::formats::read_side_text(&dir.join("preprocessor_config.json")) else { return p };
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) else { return p };
        if let Some(s) = v.get("size").and_then(|s| s.get("height").or_else(|| s.get("shortest_edge"))).and_then(|x| x.as_u64()) {
            p.size = s as usize;
        }
        let arr3 = |k: &str| -> Option<[f32; 3]> {
            let a = v.get(k)?.as_array()?;
            (a.len() == 3).then(|| [a[0].as_f64().unwrap_or(0.5) as f32, a[1].as_f64().unwrap_or(0.5) as f32, a[2].as_f64().unwrap_or(0.5) as f32])
        };
        if let Some(m) = arr3("image_mean") {
            p.mean = m;
        }
        if let Some(s) = arr3("image_std") {
            p.std = s;
        }
        if let Some(r) = v.get("rescale_factor").and_then(|x| x.as_f64()) {
            p.rescale = r as f32;
        }
        p
    }

    /// `rgb`: `width * height * 3` bytes. Returns `[3, size, size]`.
    pub fn apply(&self, width: usize, height: usize, rgb: &[u8]) -> Vec<f32> {
        assert_eq!(rgb.len(), width * height * 3, "RGB8 buffer size");
        let s = self.size;
        let hwc: Vec<f32> = match self.resize {
            Resize::Card => resize_bilinear_f32(rgb, width, height, s, s),
            Resize::Pil => resize_pil_bilinear(rgb, width, height, s, s).into_iter().map(|v| v as f32).collect(),
        };
        let mut out = vec![0f32; 3 * s * s];
        for i in 0..s * s {
            for c in 0..3 {
                // As transformers: rescale, then (x - mean) / std.
                out[c * s * s + i] = (hwc[i * 3 + c] * self.rescale - self.mean[c]) / self.std[c];
            }
        }
        out
    }
}

/// Half-pixel bilinear without antialiasing, in f32 (torch's upsample_bilinear2d arithmetic).
/// `rgb` is HWC u8; returns HWC f32 at `ow x oh`.
pub fn resize_bilinear_f32(rgb: &[u8], w: usize, h: usize, ow: usize, oh: usize) -> Vec<f32> {
    let axis = |inp: usize, out: usize| -> Vec<(usize, usize, f32)> {
        let scale = inp as f32 / out as f32;
        (0..out)
            .map(|o| {
                let src = (scale * (o as f32 + 0.5) - 0.5).max(0.0);
                let i0 = (src as usize).min(inp - 1);
                let i1 = if i0 < inp - 1 { i0 + 1 } else { i0 };
                (i0, i1, src - i0 as f32)
            })
            .collect()
    };
    let xs = axis(w, ow);
    let ys = axis(h, oh);
    let mut out = vec![0f32; ow * oh * 3];
    for (oy, &(y0, y1, ly)) in ys.iter().enumerate() {
        for (ox, &(x0, x1, lx)) in xs.iter().enumerate() {
            for c in 0..3 {
                let p = |x: usize, y: usize| rgb[(y * w + x) * 3 + c] as f32;
                let top = (1.0 - lx) * p(x0, y0) + lx * p(x1, y0);
                let bot = (1.0 - lx) * p(x0, y1) + lx * p(x1, y1);
                out[(oy * ow + ox) * 3 + c] = (1.0 - ly) * top + ly * bot;
            }
        }
    }
    out
}

const PRECISION_BITS: u32 = 32 - 8 - 2;

/// PIL's coefficients for one axis (`precompute_coeffs` + `normalize_coeffs_8bpc`).
fn pil_coeffs(inp: usize, out: usize) -> Vec<(usize, Vec<i32>)> {
    let scale = inp as f64 / out as f64;
    let filterscale = scale.max(1.0);
    let support = 1.0 * filterscale; // bilinear filter support is 1
    let ss = 1.0 / filterscale;
    (0..out)
        .map(|xx| {
            let center = (xx as f64 + 0.5) * scale;
            let xmin = ((center - support + 0.5) as i64).max(0) as usize;
            let xmax = ((center + support + 0.5) as i64).min(inp as i64) as usize;
            let n = xmax.saturating_sub(xmin);
            let mut k: Vec<f64> = (0..n)
                .map(|x| {
                    let t = ((x + xmin) as f64 - center + 0.5) * ss;
                    let t = t.abs();
                    if t < 1.0 { 1.0 - t } else { 0.0 }
                })
                .collect();
            let ww: f64 = k.iter().sum();
            if ww != 0.0 {
                for v in &mut k {
                    *v /= ww;
                }
            }
            let kk = k
                .iter()
                .map(|&v| {
                    let f = v * (1u32 << PRECISION_BITS) as f64;
                    if v < 0.0 { (f - 0.5) as i32 } else { (f + 0.5) as i32 }
                })
                .collect();
            (xmin, kk)
        })
        .collect()
}

fn clip8(v: i32) -> u8 {
    (v >> PRECISION_BITS).clamp(0, 255) as u8
}

/// PIL `Image.resize((ow, oh), BILINEAR)` of an RGB8 image (HWC). Returns HWC u8.
pub fn resize_pil_bilinear(rgb: &[u8], w: usize, h: usize, ow: usize, oh: usize) -> Vec<u8> {
    // Horizontal pass (when the width changes), then vertical (when the height changes).
    let horiz = if ow != w {
        let cx = pil_coeffs(w, ow);
        let mut t = vec![0u8; ow * h * 3];
        for y in 0..h {
            for (x, (xmin, k)) in cx.iter().enumerate() {
                for c in 0..3 {
                    let mut ss: i32 = 1 << (PRECISION_BITS - 1);
                    for (i, &kv) in k.iter().enumerate() {
                        ss += rgb[(y * w + xmin + i) * 3 + c] as i32 * kv;
                    }
                    t[(y * ow + x) * 3 + c] = clip8(ss);
                }
            }
        }
        t
    } else {
        rgb.to_vec()
    };
    if oh == h {
        return horiz;
    }
    let cy = pil_coeffs(h, oh);
    let mut out = vec![0u8; ow * oh * 3];
    for (y, (ymin, k)) in cy.iter().enumerate() {
        for x in 0..ow {
            for c in 0..3 {
                let mut ss: i32 = 1 << (PRECISION_BITS - 1);
                for (i, &kv) in k.iter().enumerate() {
                    ss += horiz[((ymin + i) * ow + x) * 3 + c] as i32 * kv;
                }
                out[(y * ow + x) * 3 + c] = clip8(ss);
            }
        }
    }
    out
}
