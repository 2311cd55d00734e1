//! The decoder's key/value cache: keys and values of one layer, `[kv_heads, capacity, head_dim]` each.
//!
//! Full-attention layers append into a buffer that doubles when full (amortized O(1) per
//! token, no copy of the whole history each step). Sliding layers keep a ring of exactly
//! `sliding_window` slots: position `p` lives in slot `p % window`, so memory stays bounded
//! however long the text. `slot_pos[s]` is the absolute position held in slot `s`; the mask
//! is built from it, so slot order never matters to attention.

use burn::tensor::{Device, Tensor};

/// `slot_pos` of a ring slot not written yet (masked out of attention).
pub const EMPTY_SLOT: usize = usize::MAX;

/// Not `Clone`: the decode step writes keys and values into these buffers in place, so a
/// copy of the handles would see the next step's writes.
#[derive(Debug, Default)]
pub struct LayerCache {
    pub k: Option<Tensor<3>>,
    pub v: Option<Tensor<3>>,
    /// The absolute position held in each slot ([`EMPTY_SLOT`] for an unwritten ring slot).
    pub slot_pos: Vec<usize>,
    /// Capacity a full-attention buffer starts with (the generation's whole length, when
    /// known: the buffer then never grows, and never copies).
    pub min_capacity: usize,
}

impl LayerCache {
    /// Slots in use (a ring's are all in use once allocated; unwritten ones are masked).
    pub fn len(&self) -> usize {
        self.slot_pos.len()
    }
    pub fn is_empty(&self) -> bool {
        self.slot_pos.is_empty()
    }
    /// Slots allocated.
    pub fn capacity(&self) -> usize {
        self.k.as_ref().map_or(0, |k| k.dims()[1])
    }

    /// Appends `[nkv, t, hd]` keys/values to a full-attention layer's buffer, doubling it
    /// when full.
    pub fn append(&mut self, k: Tensor<3>, v: Tensor<3>, pos0: usize, device: &Device) {
        let [nkv, t, hd] = k.dims();
        let len = self.len();
        self.reserve(t, nkv, hd, device);
        let r = [0..nkv, len..len + t, 0..hd];
        self.k = self.k.take().map(|b| b.slice_assign(r.clone(), k));
        self.v = self.v.take().map(|b| b.slice_assign(r, v));
        self.slot_pos.extend(pos0..pos0 + t);
    }

    /// The slot where a full-attention layer's next key/value (position `pos`) goes, taken
    /// (the caller writes it, as the fused decode kernel does), and the slots then in use.
    pub fn append_slot(&mut self, pos: usize, nkv: usize, hd: usize, device: &Device) -> (usize, usize) {
        let slot = self.len();
        self.reserve(1, nkv, hd, device);
        self.slot_pos.push(pos);
        (slot, slot + 1)
    }

    /// The ring slot of position `pos` in a sliding layer of `window` slots, taken, and the
    /// slots then valid (`min(pos + 1, window)`: the ring fills its prefix first).
    pub fn ring_slot(&mut self, pos: usize, window: usize, nkv: usize, hd: usize, device: &Device) -> (usize, usize) {
        self.alloc_ring(window, nkv, hd, device);
        let slot = pos % window;
        self.slot_pos[slot] = pos;
        (slot, (pos + 1).min(window))
    }

    fn alloc_ring(&mut self, window: usize, nkv: usize, hd: usize, device: &Device) {
        if self.k.is_none() {
            self.k = Some(Tensor::<3>::zeros([nkv, window, hd], device));
            self.v = Some(Tensor::<3>::zeros([nkv, window, hd], device));
            self.slot_pos = vec![EMPTY_SLOT; window];
        }
    }

    /// Room for `t` more slots in a full-attention layer's buffer (allocated at
    /// `min_capacity`, then doubled when full: the only time the cache is copied).
    fn reserve(&mut self, t: usize, nkv: usize, hd: usize, device: &Device) {
        let len = self.len();
        if len + t > self.capacity() {
            let cap = (len + t).next_power_of_two().max(64).max(self.min_capacity);
            crate::profile::count_attention(2 * nkv * len * hd * 4, 0);
            let grow = |old: Option<Tensor<3>>| {
                let fresh = Tensor::<3>::zeros([nkv, cap, hd], device);
                match old {
                    Some(o) if len > 0 => fresh.slice_assign([0..nkv, 0..len, 0..hd], o.slice([0..nkv, 0..len, 0..hd])),
                    _ => fresh,
                }
            };
            self.k = Some(grow(self.k.take()));
            self.v = Some(grow(self.v.take()));
        }
    }

    /// Writes the chunk's last `min(t, window)` keys/values into a sliding layer's ring.
    pub fn write_ring(&mut self, k: Tensor<3>, v: Tensor<3>, pos0: usize, window: usize, device: &Device) {
        let [nkv, t, hd] = k.dims();
        self.alloc_ring(window, nkv, hd, device);
        let mut i = t.saturating_sub(window);
        while i < t {
            // A run of consecutive slots up to the ring's end.
            let slot = (pos0 + i) % window;
            let n = (window - slot).min(t - i);
            let r = [0..nkv, slot..slot + n, 0..hd];
            let src = [0..nkv, i..i + n, 0..hd];
            self.k = self.k.take().map(|b| b.slice_assign(r.clone(), k.clone().slice(src.clone())));
            self.v = self.v.take().map(|b| b.slice_assign(r, v.clone().slice(src)));
            for j in 0..n {
                self.slot_pos[slot + j] = pos0 + i + j;
            }
            i += n;
        }
    }
}

/// The cache of every layer, the position the next token takes, and the device-resident
/// RoPE tables the model keeps with it (one per frequency set, filled by the model).
#[derive(Debug)]
pub struct KvCache {
    pub layers: Vec<LayerCache>,
    /// Number of positions processed so far.
    pub pos: usize,
    pub rope: Vec<crate::nn::rope::Table>,
}

impl KvCache {
    pub fn new(n_layers: usize) -> Self {
        Self { layers: (0..n_layers).map(|_| LayerCache::default()).collect(), pos: 0, rope: Vec::new() }
    }
}
