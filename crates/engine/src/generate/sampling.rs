//! Token sampling: greedy, temperature, top-k, top-p, min-p, repetition penalty, seeded.

/// Sampling parameters. `temperature <= 0` means greedy.
#[derive(Debug, Clone, PartialEq)]
pub struct SamplingParams {
    pub temperature: f32,
    /// 0 = off.
    pub top_k: usize,
    /// 1.0 = off.
    pub top_p: f32,
    /// 0.0 = off.
    pub min_p: f32,
    /// 1.0 = off (HF / CTRL convention: positive logits divided, negative multiplied).
    pub repetition_penalty: f32,
    pub seed: u64,
}

impl SamplingParams {
    pub fn greedy() -> Self {
        Self { temperature: 0.0, top_k: 0, top_p: 1.0, min_p: 0.0, repetition_penalty: 1.0, seed: 0 }
    }

    /// The sampler a user's options ask for (CLI flags, the findings panel): `greedy`
    /// overrides the rest.
    pub fn from_options(greedy: bool, temperature: f32, top_k: usize, top_p: f32, min_p: f32, repetition_penalty: f32, seed: u64) -> Self {
        if greedy {
            return Self::greedy();
        }
        Self { temperature, top_k, top_p, min_p, repetition_penalty, seed }
    }
}

impl Default for SamplingParams {
    fn default() -> Self {
        Self::greedy()
    }
}

/// SplitMix64: small, seedable, reproducible across platforms.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub fn next_f32(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }
}

/// Index of the largest value (first one on ties).
pub fn argmax(x: &[f32]) -> u32 {
    let mut best = 0;
    for (i, &v) in x.iter().enumerate() {
        if v > x[best] {
            best = i;
        }
    }
    best as u32
}

/// The `k` largest `(id, logprob)` of the log-softmax of `logits`, best first.
pub fn top_logprobs(logits: &[f32], k: usize) -> Vec<(u32, f32)> {
    let max = logits.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
    let lse = logits.iter().map(|&l| ((l - max) as f64).exp()).sum::<f64>().ln() as f32 + max;
    let mut top: Vec<(u32, f32)> = Vec::with_capacity(k + 1);
    for (i, &l) in logits.iter().enumerate() {
        if top.len() < k || l > top[top.len() - 1].1 {
            let pos = top.partition_point(|&(_, v)| v >= l);
            top.insert(pos, (i as u32, l));
            top.truncate(k);
        }
    }
    top.into_iter().map(|(i, l)| (i, l - lse)).collect()
}

pub struct Sampler {
    pub params: SamplingParams,
    rng: Rng,
}

impl Sampler {
    pub fn new(params: SamplingParams) -> Self {
        let rng = Rng::new(params.seed);
        Self { params, rng }
    }

    /// Picks the next token from `logits` (modified in place); `history` are the ids seen so
    /// far (prompt and generated), for the repetition penalty.
    pub fn sample(&mut self, logits: &mut [f32], history: &[u32]) -> u32 {
        self.penalize(logits, history);
        if self.params.temperature <= 0.0 {
            return argmax(logits);
        }
        let r = self.draw();
        self.pick(logits, r)
    }

    /// The uniform number in [0, 1) one sampled step uses (the device sampler takes it as
    /// a launch argument, so host and device draw the same sequence).
    pub fn draw(&mut self) -> f32 {
        self.rng.next_f32()
    }

    /// The repetition penalty, in place: each distinct id of `history` once.
    pub fn penalize(&self, logits: &mut [f32], history: &[u32]) {
        let p = &self.params;
        if p.repetition_penalty != 1.0 {
            let mut seen = std::collections::HashSet::new();
            for &id in history {
                if seen.insert(id) {
                    if let Some(l) = logits.get_mut(id as usize) {
                        *l = if *l > 0.0 { *l / p.repetition_penalty } else { *l * p.repetition_penalty };
                    }
                }
            }
        }
    }

    /// The token chosen from already-penalized `logits` with the uniform number `r`: greedy,
    /// or temperature, top-k, top-p and min-p, then a walk of `r` over what is kept.
    pub fn pick(&self, logits: &[f32], r: f32) -> u32 {
        let p = &self.params;
        if p.temperature <= 0.0 {
            return argmax(logits);
        }
        // Candidates sorted by logit, descending, ties by id (a NaN logit ranks last, so the
        // order is total).
        let mut cand: Vec<(u32, f32)> = logits
            .iter()
            .enumerate()
            .map(|(i, &l)| (i as u32, if l.is_nan() { f32::NEG_INFINITY } else { l / p.temperature }))
            .collect();
        let order = |a: &(u32, f32), b: &(u32, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
        if p.top_k > 0 && p.top_k < cand.len() {
            // Only the k best are ever used: select them in linear time and sort those, not
            // the whole vocabulary (262,144 entries for Gemma 3).
            cand.select_nth_unstable_by(p.top_k - 1, order);
            cand.truncate(p.top_k);
        }
        cand.sort_unstable_by(order);
        let max = cand[0].1;
        let mut probs: Vec<f32> = cand.iter().map(|&(_, l)| (l - max).exp()).collect();
        let sum: f32 = probs.iter().sum();
        probs.iter_mut().for_each(|x| *x /= sum);
        if p.top_p < 1.0 {
            let mut acc = 0.0;
            let mut keep = probs.len();
            for (i, &pr) in probs.iter().enumerate() {
                acc += pr;
                if acc >= p.top_p {
                    keep = i + 1;
                    break;
                }
            }
            probs.truncate(keep);
            cand.truncate(keep);
        }
        if p.min_p > 0.0 {
            let thr = probs[0] * p.min_p;
            let keep = probs.iter().take_while(|&&x| x >= thr).count().max(1);
            probs.truncate(keep);
            cand.truncate(keep);
        }
        let total: f32 = probs.iter().sum();
        let mut r = r * total;
        for (i, &pr) in probs.iter().enumerate() {
            if r < pr {
                return cand[i].0;
            }
            r -= pr;
        }
        cand[probs.len() - 1].0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Top-k by selection picks exactly what sorting the whole vocabulary and cutting it
    /// did: the same token for the same draw, over many draws, with ties in the logits.
    #[test]
    fn top_k_by_selection_matches_a_full_sort() {
        let mut rng = Rng::new(3);
        let logits: Vec<f32> = (0..5000).map(|i| if i % 97 == 0 { 2.5 } else { (rng.next_f32() * 8.0).floor() * 0.5 }).collect();
        let params = SamplingParams { temperature: 0.8, top_k: 40, top_p: 0.9, min_p: 0.01, seed: 1, ..SamplingParams::greedy() };
        let s = Sampler::new(params.clone());
        let reference = |r: f32| -> u32 {
            // The previous definition: a stable sort of every logit, then the cut.
            let mut cand: Vec<(u32, f32)> = logits.iter().enumerate().map(|(i, &l)| (i as u32, l / params.temperature)).collect();
            cand.sort_by(|a, b| b.1.partial_cmp(&a.1).unwrap());
            cand.truncate(params.top_k);
            let probs: Vec<f32> = cand.iter().map(|&(_, l)| (l - cand[0].1).exp()).collect();
            let sum: f32 = probs.iter().sum();
            let probs: Vec<f32> = probs.iter().map(|x| x / sum).collect();
            let mut acc = 0.0;
            let keep = probs.iter().position(|&p| { acc += p; acc >= params.top_p }).map_or(probs.len(), |i| i + 1);
            let thr = probs[0] * params.min_p;
            let keep = probs[..keep].iter().take_while(|&&x| x >= thr).count().max(1);
            let total: f32 = probs[..keep].iter().sum();
            let mut r = r * total;
            for i in 0..keep {
                if r < probs[i] {
                    return cand[i].0;
                }
                r -= probs[i];
            }
            cand[keep - 1].0
        };
        for i in 0..200 {
            let r = i as f32 / 200.0;
            assert_eq!(s.pick(&logits, r), reference(r), "draw {r}");
        }
    }

    #[test]
    fn greedy_and_filters() {
        let logits = vec![0.0, 5.0, 1.0, 4.9, -3.0];
        let mut s = Sampler::new(SamplingParams::greedy());
        assert_eq!(s.sample(&mut logits.clone(), &[]), 1);
        // repetition penalty pushes token 1 below token 3
        let mut s = Sampler::new(SamplingParams { repetition_penalty: 1.3, ..SamplingParams::greedy() });
        assert_eq!(s.sample(&mut logits.clone(), &[1]), 3);
        // top-k 1 with temperature is greedy
        let mut s = Sampler::new(SamplingParams { temperature: 1.0, top_k: 1, ..SamplingParams::greedy() });
        for _ in 0..20 {
            assert_eq!(s.sample(&mut logits.clone(), &[]), 1);
        }
        // top-p keeps only {1, 3}
        let mut s = Sampler::new(SamplingParams { temperature: 1.0, top_p: 0.9, seed: 7, ..SamplingParams::greedy() });
        for _ in 0..50 {
            let t = s.sample(&mut logits.clone(), &[]);
            assert!(t == 1 || t == 3);
        }
        // min-p 0.5 keeps {1, 3} too (p3/p1 = e^-0.1)
        let mut s = Sampler::new(SamplingParams { temperature: 1.0, min_p: 0.5, seed: 9, ..SamplingParams::greedy() });
        let mut seen3 = false;
        for _ in 0..200 {
            let t = s.sample(&mut logits.clone(), &[]);
            assert!(t == 1 || t == 3);
            seen3 |= t == 3;
        }
        assert!(seen3);
    }

    #[test]
    fn seeded_is_reproducible() {
        let logits: Vec<f32> = (0..100).map(|i| (i as f32 * 0.37).sin()).collect();
        let p = SamplingParams { temperature: 0.8, seed: 42, ..SamplingParams::greedy() };
        let a: Vec<u32> = { let mut s = Sampler::new(p.clone()); (0..30).map(|_| s.sample(&mut logits.clone(), &[])).collect() };
        let b: Vec<u32> = { let mut s = Sampler::new(p); (0..30).map(|_| s.sample(&mut logits.clone(), &[])).collect() };
        assert_eq!(a, b);
    }

    #[test]
    fn top_logprobs_sorted() {
        let t = top_logprobs(&[1.0, 3.0, 2.0, 0.0], 2);
        assert_eq!(t[0].0, 1);
        assert_eq!(t[1].0, 2);
        assert!((t[0].1 - t[1].1 - 1.0).abs() < 1e-6);
    }
}
