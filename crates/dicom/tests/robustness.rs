//! No panic on damaged input: every corpus file truncated at many points and with
//! bytes overwritten, through the header reader, the full reader and the decoder.
//! (The cargo-fuzz target under fuzz/ explores the same path at length.)
//!
//! Then hostile files, one class each (issue 16), made from small corpus files by our own
//! reader and writer and then mutated: each must fail with an error naming the file and the
//! reason, without a panic and without allocating more than the file justifies. Memory is
//! measured in this process: a counting global allocator (every Rust allocation, including
//! capacity never touched) and the peak resident set since the kernel's high-water mark was
//! reset (`/proc/self/clear_refs`), which also sees the C codecs' allocations. The tests of
//! this binary run one at a time so that the measures are each test's own.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use medlens_dicom::dataset::{DataSet, Element, Tag, Value, Vr};
use medlens_dicom::error::WithPath;
use medlens_dicom::{tags, DisplayInfo};

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
/// A single request above this fails (the binary aborts) instead of exhausting the machine:
/// before the fixes, some of these files asked for many gigabytes.
const REFUSE_ABOVE: usize = 3 << 30;

fn grew(n: usize) {
    let now = CURRENT.fetch_add(n, Ordering::Relaxed) + n;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

// SAFETY: every call is forwarded to the system allocator with the same layout; the
// counters are only statistics.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        if l.size() > REFUSE_ABOVE {
            return std::ptr::null_mut();
        }
        let p = unsafe { System.alloc(l) };
        if !p.is_null() {
            grew(l.size());
        }
        p
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        if l.size() > REFUSE_ABOVE {
            return std::ptr::null_mut();
        }
        let p = unsafe { System.alloc_zeroed(l) };
        if !p.is_null() {
            grew(l.size());
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) };
        CURRENT.fetch_sub(l.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        if new > REFUSE_ABOVE {
            return std::ptr::null_mut();
        }
        let q = unsafe { System.realloc(p, l, new) };
        if !q.is_null() {
            if new > l.size() {
                grew(new - l.size());
            } else {
                CURRENT.fetch_sub(l.size() - new, Ordering::Relaxed);
            }
        }
        q
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The tests of this binary take turns, so that each one's memory peak is its own.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

/// Bytes of the process's resident set: `VmHWM` (peak) or `VmRSS` (now), in bytes.
fn status_kb(field: &str) -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse::<u64>().ok().map(|kb| kb * 1024)
}

/// What a call cost: the most Rust heap it held beyond what was held before, and how far
/// the resident set rose above where it stood (None where the kernel cannot reset its peak).
struct Cost {
    heap: usize,
    rss: Option<u64>,
}

/// Runs `f`, turning a panic into a test failure that names `what`, and measures it.
fn measured<T>(what: &str, f: impl FnOnce() -> T) -> (T, Cost) {
    let base = CURRENT.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let hwm_reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    let rss0 = status_kb("VmRSS:");
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    let heap = PEAK.load(Ordering::Relaxed).saturating_sub(base);
    let rss = match (hwm_reset, rss0, status_kb("VmHWM:")) {
        (true, Some(a), Some(b)) => Some(b.saturating_sub(a)),
        _ => None,
    };
    match r {
        Ok(v) => (v, Cost { heap, rss }),
        Err(_) => panic!("{what}: panicked (see the message above)"),
    }
}

/// The bound every crafted file here must stay under (each is at most a few MB).
const BOUND: u64 = 64 << 20;

fn assert_bounded(what: &str, c: &Cost) {
    eprintln!("{what}: heap peak {} KiB, resident set rose {:?} KiB", c.heap / 1024, c.rss.map(|r| r / 1024));
    assert!((c.heap as u64) < BOUND, "{what}: held {} MiB of heap", c.heap >> 20);
    if let Some(r) = c.rss {
        assert!(r < BOUND, "{what}: the resident set rose {} MiB", r >> 20);
    }
}

/// What the CLI's inspect, decode and render do with a file: open, image geometry, display
/// tables (strictly), then the first frames decoded and rendered. The first error, as text.
fn use_file(path: &Path) -> Result<(), String> {
    let f = medlens_dicom::open(path).map_err(|e| e.to_string())?;
    let _ = f.tags();
    let info = f.image_info().map_err(|e| e.to_string())?;
    let display = DisplayInfo::read(f.dataset()).at(path).map_err(|e| e.to_string())?;
    for i in 0..info.frames.min(2) as usize {
        let fr = f.frame(i).map_err(|e| e.to_string())?;
        let _ = medlens_dicom::render(&fr, &display, None);
    }
    Ok(())
}

/// Writes `bytes` as `name` and checks that using it fails, naming the file and every one of
/// `reasons`, within the memory bound and without a panic.
fn refused(name: &str, bytes: &[u8], reasons: &[&str]) -> Crafted {
    let path = Crafted(std::env::temp_dir().join(format!("medlens-test-hostile-{}-{name}", std::process::id())));
    std::fs::write(&path, bytes).unwrap();
    keep(name, bytes);
    let (r, cost) = measured(name, || use_file(&path.0));
    let e = match r {
        Ok(()) => panic!("{name}: accepted, but it should be refused ({})", reasons.join("; ")),
        Err(e) => e,
    };
    eprintln!("{name}: {e}");
    assert!(e.contains(name), "{name}: the error does not name the file: {e}");
    for r in reasons {
        assert!(e.contains(r), "{name}: the error does not say '{r}': {e}");
    }
    assert_bounded(name, &cost);
    path
}

/// A crafted file in the temp folder, removed when the test is done with it (a failed
/// assertion leaves it, to look at).
struct Crafted(PathBuf);

impl Drop for Crafted {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}

impl AsRef<Path> for Crafted {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

/// With `MEDLENS_KEEP_HOSTILE=DIR`, the crafted files are also written to DIR (to try them on
/// the `medlens` binary).
fn keep(name: &str, bytes: &[u8]) {
    if let Some(dir) = std::env::var_os("MEDLENS_KEEP_HOSTILE") {
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(Path::new(&dir).join(name), bytes).unwrap();
    }
}

/// A corpus file read by our reader, changed, and written back by our writer (explicit VR
/// little endian, or the file's own encapsulated syntax).
fn mutated(rel: &str, change: impl FnOnce(&mut DataSet)) -> Vec<u8> {
    let f = medlens_dicom::open(common::corpus().join(rel)).unwrap();
    let mut ds = f.dataset().clone();
    change(&mut ds);
    let class = f.meta().string(tags::MEDIA_STORAGE_SOP_CLASS_UID).unwrap_or_else(|| "1.2.840.10008.5.1.4.1.1.7".into());
    let syntax = if f.parsed.syntax.codec.is_some() { f.parsed.syntax.uid.clone() } else { "1.2.840.10008.1.2.1".into() };
    medlens_dicom::write::write_file(&ds, &class, "2.25.16", &syntax, true).unwrap()
}

fn set(ds: &mut DataSet, tag: Tag, vr: &[u8; 2], value: Vec<u8>) {
    ds.elements.insert(tag, Element { tag, vr: Vr(*vr), value: Value::Bytes(value) });
}

fn set_us(ds: &mut DataSet, tag: Tag, v: u16) {
    set(ds, tag, b"US", v.to_le_bytes().to_vec());
}

/// The fragments of the encapsulated Pixel Data.
fn fragments(ds: &mut DataSet) -> &mut Vec<Vec<u8>> {
    match &mut ds.elements.get_mut(&tags::PIXEL_DATA).unwrap().value {
        Value::Fragments { fragments, .. } => fragments,
        _ => panic!("not encapsulated"),
    }
}

/// Byte offset of the first occurrence of `pat`.
fn find(hay: &[u8], pat: &[u8]) -> usize {
    hay.windows(pat.len()).position(|w| w == pat).expect("marker")
}

fn exercise(path: &std::path::Path, bytes: &[u8]) {
    use medlens_dicom::read::{parse, ReadOptions};
    for opts in [ReadOptions { stop_before_pixels: true }, ReadOptions::default()] {
        if let Ok(p) = parse(bytes, opts) {
            let f = medlens_dicom::DicomFile { path: path.to_path_buf(), parsed: p };
            let _ = f.tags();
            if let Ok(info) = f.image_info() {
                for i in 0..info.frames.min(2) as usize {
                    if let Ok(fr) = f.frame(i) {
                        let d = medlens_dicom::DisplayInfo::from_dataset(f.dataset());
                        let _ = medlens_dicom::render(&fr, &d, None);
                    }
                }
            }
        }
    }
}

#[test]
fn damaged_files_never_panic() {
    let _serial = serial();
    let corpus = common::corpus();
    let mut seed: u64 = 0x9E3779B97F4A7C15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut cases = 0;
    for row in common::manifest() {
        let path = corpus.join(&row.path);
        let bytes = std::fs::read(&path).unwrap();
        if bytes.len() > 600_000 {
            continue; // big files: the fuzz target covers them; keep this test quick
        }
        for k in 1..6 {
            exercise(&path, &bytes[..bytes.len() * k / 6]);
            cases += 1;
        }
        for _ in 0..6 {
            let mut b = bytes.clone();
            for _ in 0..4 {
                let i = (next() as usize) % b.len();
                b[i] = next() as u8;
            }
            exercise(&path, &b);
            cases += 1;
        }
    }
    assert!(cases > 1500, "{cases}");
}

/// The codestream headers our code now reads (JPEG SOF and markers, JPEG-LS SOF55, J2K SIZ
/// and JP2 boxes, the RLE header) overwritten at random, for every encapsulated corpus file:
/// errors or images, never a panic, and bounded memory.
#[test]
fn damaged_codestream_headers_never_panic() {
    let _serial = serial();
    let corpus = common::corpus();
    let mut seed: u64 = 0x2545F4914F6CDD1D;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let pixel_data = [0xE0, 0x7F, 0x10, 0x00, b'O', b'B', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF];
    let (mut cases, mut most) = (0, 0);
    for row in common::manifest() {
        let path = corpus.join(&row.path);
        let bytes = std::fs::read(&path).unwrap();
        if bytes.len() > 600_000 {
            continue;
        }
        let Some(at) = bytes.windows(pixel_data.len()).rposition(|w| w == pixel_data) else { continue };
        // Skip the basic offset table item to the first fragment's value.
        let table = at + 12;
        let Some(len) = bytes.get(table + 4..table + 8) else { continue };
        let first = table + 8 + u32::from_le_bytes([len[0], len[1], len[2], len[3]]) as usize + 8;
        if first + 16 > bytes.len() {
            continue;
        }
        let span = (bytes.len() - first).min(320);
        for _ in 0..12 {
            let mut b = bytes.clone();
            for _ in 0..1 + next() % 4 {
                let i = first + (next() as usize) % span;
                b[i] = next() as u8;
            }
            let (_, cost) = measured(&row.path, || exercise(&path, &b));
            // Real frames of these files need at most a few MiB.
            assert!((cost.heap as u64) < BOUND, "{}: a damaged header made us hold {} MiB", row.path, cost.heap >> 20);
            most = most.max(cost.heap);
            cases += 1;
        }
    }
    eprintln!("{cases} damaged codestreams; the most heap one held: {} KiB", most >> 10);
    assert!(cases > 300, "{cases}");
}

/// JPEG: a frame header (SOF) bigger than the data set's image is refused before libjpeg-turbo
/// allocates for it (it used to size its output from the SOF and compare afterwards).
#[test]
fn jpeg_sof_bigger_than_the_data_set() {
    let _serial = serial();
    let bytes = mutated("pydicom/SC_rgb_jpeg_dcmtk.dcm", |ds| {
        let f = &mut fragments(ds)[0];
        let sof = find(f, &[0xFF, 0xC0]);
        f[sof + 5..sof + 9].copy_from_slice(&[0x3E, 0x80, 0x3E, 0x80]); // 16000 x 16000
    });
    refused("jpeg_sof_16000.dcm", &bytes, &["JPEG", "frame header (SOF) is 16000 x 16000", "100 x 100"]);
}

/// Rows and Columns huge, matching a SOF patched to the same size, in a codestream of a
/// few kilobytes: the codestream cannot hold that many blocks, so nothing is decoded.
/// Native data and RLE with huge Rows x Columns are refused by their lengths too.
#[test]
fn huge_rows_and_columns_with_a_tiny_codestream() {
    let _serial = serial();
    let bytes = mutated("pydicom/SC_rgb_jpeg_dcmtk.dcm", |ds| {
        set_us(ds, tags::ROWS, 12000);
        set_us(ds, tags::COLUMNS, 12000);
        let f = &mut fragments(ds)[0];
        let sof = find(f, &[0xFF, 0xC0]);
        f[sof + 5..sof + 9].copy_from_slice(&[0x2E, 0xE0, 0x2E, 0xE0]); // 12000 x 12000
    });
    refused("jpeg_rows_12000.dcm", &bytes, &["12000 x 12000 x 3 image needs at least", "bytes of coded data"]);
    let bytes = mutated("pydicom/dicomdirtests/77654033/CR1/6154", |ds| {
        set_us(ds, tags::ROWS, 20000);
        set_us(ds, tags::COLUMNS, 20000);
    });
    refused("native_rows_20000.dcm", &bytes, &["pixel data is shorter than expected"]);
    let bytes = mutated("pydicom/SC_rgb_rle.dcm", |ds| {
        set_us(ds, tags::ROWS, 8000);
        set_us(ds, tags::COLUMNS, 8000);
    });
    refused("rle_rows_8000.dcm", &bytes, &["RLE", "cannot hold 64000000 pixels"]);
}

/// JPEG-LS: a three-component codestream in a data set that declares one sample per pixel.
#[test]
fn jpeg_ls_components_differ_from_the_data_set() {
    let _serial = serial();
    let bytes = mutated("pydicom/SC_rgb_jls_lossy_line.dcm", |ds| {
        set_us(ds, tags::SAMPLES_PER_PIXEL, 1);
        set(ds, tags::PHOTOMETRIC_INTERPRETATION, b"CS", b"MONOCHROME2 ".to_vec());
        ds.elements.remove(&tags::PLANAR_CONFIGURATION);
    });
    refused("jls_3_components_as_1.dcm", &bytes, &["JPEG-LS", "(SOF55) has 3 component(s)", "Samples per Pixel is 1"]);
}

/// JPEG 2000: the SIZ segment disagrees with the data set on components (this used to
/// decode silently, keeping the first component) and on size.
#[test]
fn jpeg2000_siz_differs_from_the_data_set() {
    let _serial = serial();
    let bytes = mutated("pydicom/SC_rgb_gdcm_KY.dcm", |ds| {
        set_us(ds, tags::SAMPLES_PER_PIXEL, 1);
        set(ds, tags::PHOTOMETRIC_INTERPRETATION, b"CS", b"MONOCHROME2 ".to_vec());
    });
    refused("j2k_3_components_as_1.dcm", &bytes, &["JPEG 2000", "(SIZ) declares 3 component(s)", "Samples per Pixel is 1"]);
    let bytes = mutated("pydicom/SC_rgb_gdcm_KY.dcm", |ds| {
        let f = &mut fragments(ds)[0];
        let siz = find(f, &[0xFF, 0x51]);
        f[siz + 6..siz + 14].copy_from_slice(&[0, 0, 0x9C, 0x40, 0, 0, 0x9C, 0x40]); // 40000 x 40000
    });
    refused("j2k_siz_40000.dcm", &bytes, &["JPEG 2000", "image size (SIZ) is 40000 x 40000", "100 x 100"]);
    let bytes = mutated("pydicom/SC_rgb_gdcm_KY.dcm", |ds| {
        let f = &mut fragments(ds)[0];
        let siz = find(f, &[0xFF, 0x51]);
        f[siz + 22..siz + 30].copy_from_slice(&[0, 0, 0, 1, 0, 0, 0, 1]); // 1 x 1 tiles
    });
    refused("j2k_10000_tiles.dcm", &bytes, &["JPEG 2000", "10000 tiles"]);
}

/// Huge but consistent: the data set and the codestream agree on 13000 x 13000 x 3 (one
/// tile; 507 M samples, under the 512 M a frame may have), and the codestream is a few
/// kilobytes. Decoding would take about 14 bytes a sample (7 GB); the frame is refused from
/// its length before the codec allocates.
#[test]
fn huge_but_consistent_jpeg2000_and_jpeg_ls_are_refused_from_their_length() {
    let _serial = serial();
    let bytes = mutated("pydicom/SC_rgb_gdcm_KY.dcm", |ds| {
        set_us(ds, tags::ROWS, 13000);
        set_us(ds, tags::COLUMNS, 13000);
        let f = &mut fragments(ds)[0];
        let siz = find(f, &[0xFF, 0x51]);
        f[siz + 6..siz + 14].copy_from_slice(&[0, 0, 0x32, 0xC8, 0, 0, 0x32, 0xC8]); // 13000 x 13000
        f[siz + 22..siz + 30].copy_from_slice(&[0, 0, 0x32, 0xC8, 0, 0, 0x32, 0xC8]); // one tile
    });
    refused("j2k_consistent_13000.dcm", &bytes, &["JPEG 2000", "13000 x 13000 x 3 frame from", "decompression bomb"]);
    let bytes = mutated("pydicom/SC_rgb_jls_lossy_line.dcm", |ds| {
        set_us(ds, tags::ROWS, 13000);
        set_us(ds, tags::COLUMNS, 13000);
        let f = &mut fragments(ds)[0];
        let sof = find(f, &[0xFF, 0xF7]);
        f[sof + 5..sof + 9].copy_from_slice(&[0x32, 0xC8, 0x32, 0xC8]); // Y, X = 13000
    });
    refused("jls_consistent_13000.dcm", &bytes, &["JPEG-LS", "13000 x 13000 x 3 frame from", "decompression bomb"]);
}

/// An explicit VR little endian element.
fn element(tag: Tag, vr: &[u8; 2], value: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&tag.0.to_le_bytes());
    v.extend_from_slice(&tag.1.to_le_bytes());
    v.extend_from_slice(vr);
    if Vr(*vr).has_long_length() {
        v.extend_from_slice(&[0, 0]);
        v.extend_from_slice(&(value.len() as u32).to_le_bytes());
    } else {
        v.extend_from_slice(&(value.len() as u16).to_le_bytes());
    }
    v.extend_from_slice(value);
    v
}

/// A deflated file: a 16 x 16 image, then a private element declaring 4 GB whose value is
/// `zeros_mib` MiB of zeros, deflated at about 1000 : 1.
fn deflate_bomb(zeros_mib: usize) -> Vec<u8> {
    use flate2::{Compress, Compression, FlushCompress};
    let mut body = Vec::new();
    body.extend(element(tags::MODALITY, b"CS", b"OT"));
    body.extend(element(tags::SAMPLES_PER_PIXEL, b"US", &1u16.to_le_bytes()));
    body.extend(element(tags::PHOTOMETRIC_INTERPRETATION, b"CS", b"MONOCHROME2 "));
    body.extend(element(tags::ROWS, b"US", &16u16.to_le_bytes()));
    body.extend(element(tags::COLUMNS, b"US", &16u16.to_le_bytes()));
    body.extend(element(tags::BITS_ALLOCATED, b"US", &8u16.to_le_bytes()));
    body.extend(element(tags::BITS_STORED, b"US", &8u16.to_le_bytes()));
    body.extend(element(tags::PIXEL_REPRESENTATION, b"US", &0u16.to_le_bytes()));
    body.extend(element(tags::PIXEL_DATA, b"OB", &[7u8; 256]));
    let mut bomb_head = element(Tag(0x0009, 0x1010), b"OB", &[]);
    let n = bomb_head.len();
    bomb_head[n - 4..].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    body.extend(bomb_head);

    // Deflate: the data set, a MiB of zeros (so that the window holds only zeros), then one
    // MiB of zeros coded once and repeated: its blocks only look back into zeros.
    let mut c = Compress::new(Compression::best(), false);
    let mut out = Vec::with_capacity(1 << 20);
    let run = |c: &mut Compress, input: &[u8], flush: FlushCompress, out: &mut Vec<u8>| {
        let start = c.total_in();
        loop {
            out.reserve(64 << 10);
            let done = (c.total_in() - start) as usize;
            c.compress_vec(&input[done..], out, flush).unwrap();
            if (c.total_in() - start) as usize == input.len() && out.len() < out.capacity() {
                break;
            }
        }
    };
    let zeros = vec![0u8; 1 << 20];
    run(&mut c, &body, FlushCompress::Sync, &mut out);
    run(&mut c, &zeros, FlushCompress::Sync, &mut out);
    let mark = out.len();
    run(&mut c, &zeros, FlushCompress::Sync, &mut out);
    let segment = out[mark..].to_vec();
    for _ in 2..zeros_mib {
        out.extend_from_slice(&segment);
    }
    run(&mut c, &[], FlushCompress::Finish, &mut out);

    let mut f = vec![0u8; 128];
    f.extend_from_slice(b"DICM");
    f.extend(element(tags::TRANSFER_SYNTAX_UID, b"UI", b"1.2.840.10008.1.2.1.99\0\0"[..22].as_ref()));
    f.extend(out);
    f
}

/// A deflate bomb: a few hundred kilobytes that inflate to 256 MiB. The full read stops at
/// the inflate limit with an error; the header-only read inflates only up to Pixel Data.
#[test]
fn deflate_bomb_is_bounded() {
    let _serial = serial();
    if std::env::var_os("MEDLENS_KEEP_HOSTILE").is_some() {
        keep("deflate_bomb_1gib.dcm", &deflate_bomb(1024));
    }
    let bytes = deflate_bomb(256);
    assert!(bytes.len() < 400_000, "the bomb is {} bytes", bytes.len());
    let path = refused("deflate_bomb.dcm", &bytes, &["deflate", "decompression bomb"]);
    let (header, cost) = measured("deflate_bomb.dcm header", || medlens_dicom::open_header(&path));
    let header = header.unwrap_or_else(|e| panic!("the header before Pixel Data is readable: {e}"));
    assert_eq!(header.dataset().int(tags::ROWS), Some(16));
    assert_bounded("deflate_bomb.dcm header", &cost);
    assert!(cost.heap < 4 << 20, "the header-only read held {} KiB", cost.heap >> 10);
}

/// Empty and short LUTs: a palette whose red table is empty (this used to panic in render)
/// or shorter than its descriptor, and a Modality LUT shorter than its descriptor.
#[test]
fn short_and_empty_luts_are_errors() {
    let _serial = serial();
    let bytes = mutated("pydicom/examples_palette.dcm", |ds| set(ds, tags::RED_PALETTE_DATA, b"OW", Vec::new()));
    let empty = refused("palette_empty.dcm", &bytes, &["RedPaletteColorLookupTableData", "0 entries where the descriptor declares"]);
    let bytes = mutated("pydicom/examples_palette.dcm", |ds| set(ds, tags::GREEN_PALETTE_DATA, b"OW", vec![0; 20]));
    refused("palette_short.dcm", &bytes, &["GreenPaletteColorLookupTableData", "10 entries where the descriptor declares"]);
    let bytes = mutated("pydicom/dicomdirtests/98892003/MR1/5641", |ds| {
        let mut item = DataSet::default();
        set(&mut item, tags::LUT_DESCRIPTOR, b"US", [4096u16, 0, 12].iter().flat_map(|v| v.to_le_bytes()).collect());
        set(&mut item, tags::LUT_DATA, b"OW", vec![0; 8]);
        let tag = tags::MODALITY_LUT_SEQUENCE;
        ds.elements.insert(tag, Element { tag, vr: Vr::SQ, value: Value::Seq(vec![item]) });
    });
    refused("modality_lut_short.dcm", &bytes, &["LUTData", "4 entries where the descriptor declares 4096"]);
    // The lenient reader drops the unusable palette; decoding refuses the frame.
    let f = medlens_dicom::open(&empty).unwrap();
    assert!(DisplayInfo::from_dataset(f.dataset()).palette.is_none());
    assert!(f.frame(0).unwrap_err().to_string().contains("RedPaletteColorLookupTableData"));
}

/// RLE: a segment offset past the end of the frame, in a frame whose size the old check
/// (64 x the frame's bytes) allowed: the header is validated before the output is allocated.
#[test]
fn rle_segment_offset_past_the_end() {
    let _serial = serial();
    let bytes = mutated("pydicom/SC_rgb_rle.dcm", |ds| {
        set_us(ds, tags::ROWS, 2000);
        set_us(ds, tags::COLUMNS, 2000);
        let f = &mut fragments(ds)[0];
        let seg = 64_000usize;
        let mut frame = vec![0u8; 64 + 2 * seg];
        for (i, w) in [3u32, 64, 64 + seg as u32, 1_000_000_000].iter().enumerate() {
            frame[i * 4..i * 4 + 4].copy_from_slice(&w.to_le_bytes());
        }
        for pair in frame[64..].chunks_exact_mut(2) {
            pair.copy_from_slice(&[0x81, 0]); // runs of 128 zeros
        }
        *f = frame;
    });
    refused("rle_offset_past_end.dcm", &bytes, &["RLE", "segment 1 has bad offsets 64064..1000000000"]);
}

/// Number of Frames far beyond the pixel data, native and encapsulated: the geometry is
/// refused, so nothing sized by the frame count (a decode loop, a cine buffer) follows it.
#[test]
fn frame_count_beyond_the_pixel_data() {
    let _serial = serial();
    let bytes = mutated("pydicom/dicomdirtests/77654033/CR1/6154", |ds| set(ds, tags::NUMBER_OF_FRAMES, b"IS", b"100000".to_vec()));
    refused("native_100000_frames.dcm", &bytes, &["NumberOfFrames", "100000 frames of 16 x 16 need 51200000 bytes", "holds 512"]);
    let bytes = mutated("pydicom/SC_rgb_rle.dcm", |ds| set(ds, tags::NUMBER_OF_FRAMES, b"IS", b"99999 ".to_vec()));
    refused("rle_99999_frames.dcm", &bytes, &["NumberOfFrames", "a fragment each", "1 fragment(s)"]);
}

/// The plain-image fuzz target's seeds (`fuzz/seeds/plain_image`: PNG, JPEG, TIFF, BMP and
/// WebP made by Pillow) decode and render through the target's own path, within the memory
/// bound; a crash input kept after its fix (`fuzz/regressions/plain_image`) must not panic.
#[test]
fn plain_image_fuzz_seeds_and_kept_inputs() {
    let _serial = serial();
    let root = common::repo().join("fuzz");
    let mut seeds = 0;
    for kind in ["seeds", "regressions"] {
        let Ok(files) = std::fs::read_dir(root.join(kind).join("plain_image")) else { continue };
        for f in files {
            let p = f.unwrap().path();
            let data = std::fs::read(&p).unwrap();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            let (r, cost) = measured(&name, || {
                std::panic::catch_unwind(|| {
                    let frame = medlens_dicom::plain::decode_image(&data)?;
                    let display = DisplayInfo::from_dataset(&DataSet::default());
                    let img = medlens_dicom::render(&frame, &display, None);
                    Ok::<_, medlens_dicom::ErrorKind>((img.width, img.height))
                })
            });
            let r = r.unwrap_or_else(|_| panic!("{kind}/{name}: panicked"));
            assert_bounded(&name, &cost);
            if kind == "seeds" {
                let (w, h) = r.unwrap_or_else(|e| panic!("seed {name}: {e}"));
                assert!(w > 0 && h > 0, "{name}");
                seeds += 1;
            }
        }
    }
    assert!(seeds >= 10, "{seeds} plain-image seeds");
}
