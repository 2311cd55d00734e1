//! The sampling flags `medlens generate` and `medlens findings` share.

use medlens_engine::generate::SamplingParams;

/// Sampling options (defaults as Gemma 3's `generation_config.json`: top-k 64, top-p 0.95).
#[derive(clap::Args, Debug, Clone)]
pub struct SamplingArgs {
    /// Greedy decoding (overrides the sampling options).
    #[arg(long)]
    pub greedy: bool,
    #[arg(long, default_value_t = 1.0)]
    pub temperature: f32,
    #[arg(long, default_value_t = 64)]
    pub top_k: usize,
    #[arg(long, default_value_t = 0.95)]
    pub top_p: f32,
    #[arg(long, default_value_t = 0.0)]
    pub min_p: f32,
    #[arg(long, default_value_t = 1.0)]
    pub repetition_penalty: f32,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

impl SamplingArgs {
    pub fn params(&self) -> SamplingParams {
        SamplingParams::from_options(self.greedy, self.temperature, self.top_k, self.top_p, self.min_p, self.repetition_penalty, self.seed)
    }
}
