//! Helpers for the unit tests, on the lowest floor that has tests so every floor above
//! may use them.

/// `n` reproducible pseudo-random values in `[-scale/2, scale/2)` (a 64-bit LCG's top bits).
pub fn lcg(n: usize, seed: u64, scale: f32) -> Vec<f32> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * scale
        })
        .collect()
}
