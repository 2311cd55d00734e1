// Renders modality values into a canvas at the image's native size, applying the VOI
// window on the GPU (WebGL2) or, where WebGL2 is unavailable, on the CPU. Zoom and pan
// are CSS transforms of that canvas, so its pixels are always the windowed image itself —
// except while a W/L drag is under way on an image larger than its place on screen: then the
// WebGL2 renderer draws at the screen's resolution (`setResolution`), nearest texel, so a
// 3k × 3k image windows as fast as a small one, and goes back to native size when the drag
// ends. `read` is always the native image.
import type { FrameHeader, VoiFunction, Window } from "./types";
import { colourShift, effectiveInvert, MIN_FILE_WIDTH, renderRgba, sanitizeWindow } from "./windowing";

export interface RenderInput {
  header: FrameHeader;
  values: Float32Array; // modality values, rows*columns*samples
}

export interface Renderer {
  readonly kind: "webgl2" | "cpu";
  readonly canvas: HTMLCanvasElement;
  setImage(img: RenderInput): void;
  /** Draw with a window; `fn` defaults to LINEAR (the file's function is for its own windows). */
  draw(w: Window, invert: boolean, fn?: VoiFunction): void;
  /** The canvas pixels, top row first, RGBA. */
  read(): Uint8Array;
  /** Block until drawing is done (benchmarks). */
  finish(): void;
  /** Draw at `scale` (0 < scale ≤ 1) of the native size from now on (1: native). */
  setResolution(scale: number): void;
}

const VS = `#version 300 es
in vec2 p;
void main() { gl_Position = vec4(p, 0.0, 1.0); }`;

const FS = `#version 300 es
precision highp float;
precision highp int;
uniform highp sampler2D u_tex;
uniform int u_samples;  // 1 or 3
uniform int u_fn;       // 0 LINEAR, 1 LINEAR_EXACT, 2 SIGMOID
uniform float u_c;
uniform float u_w;
uniform bool u_invert;
uniform float u_colour_scale;
uniform vec2 u_step;    // texels per drawn pixel (1, 1 at native size)
uniform int u_height;   // drawn rows
out vec4 o;
float voi(float x) {
  if (u_fn == 1) {
    if (x <= u_c - u_w / 2.0) return 0.0;
    if (x > u_c + u_w / 2.0) return 255.0;
    return ((x - u_c) / u_w + 0.5) * 255.0;
  }
  if (u_fn == 2) return 255.0 / (1.0 + exp(-4.0 * (x - u_c) / u_w));
  float lo = u_c - 0.5 - (u_w - 1.0) / 2.0;
  float hi = u_c - 0.5 + (u_w - 1.0) / 2.0;
  if (x <= lo) return 0.0;
  if (x > hi) return 255.0;
  return ((x - (u_c - 0.5)) / (u_w - 1.0) + 0.5) * 255.0;
}
void main() {
  // The texel under the drawn pixel's centre (the same texel at native size).
  float top = float(u_height - 1 - int(gl_FragCoord.y)) + 0.5;
  ivec2 ij = min(ivec2(int(gl_FragCoord.x * u_step.x), int(top * u_step.y)), textureSize(u_tex, 0) - 1);
  vec4 t = texelFetch(u_tex, ij, 0);
  vec3 rgb;
  if (u_samples == 3) {
    rgb = min(floor(max(t.rgb, 0.0) * u_colour_scale), 255.0);
  } else {
    rgb = vec3(floor(clamp(voi(t.r), 0.0, 255.0) + 0.5));
  }
  if (u_invert) rgb = 255.0 - rgb;
  o = vec4(rgb / 255.0, 1.0);
}`;

const FN_CODE = { LINEAR: 0, LINEAR_EXACT: 1, SIGMOID: 2 } as const;

class GlRenderer implements Renderer {
  readonly kind = "webgl2" as const;
  private readonly gl: WebGL2RenderingContext;
  private readonly prog: WebGLProgram;
  private readonly tex: WebGLTexture;
  private readonly u: Record<string, WebGLUniformLocation | null> = {};
  private img: RenderInput | null = null;
  private colourScale = 1;

  constructor(readonly canvas: HTMLCanvasElement, gl: WebGL2RenderingContext) {
    this.gl = gl;
    const prog = gl.createProgram()!;
    for (const [type, src] of [
      [gl.VERTEX_SHADER, VS],
      [gl.FRAGMENT_SHADER, FS],
    ] as const) {
      const sh = gl.createShader(type)!;
      gl.shaderSource(sh, src);
      gl.compileShader(sh);
      if (!gl.getShaderParameter(sh, gl.COMPILE_STATUS)) throw new Error(`shader: ${gl.getShaderInfoLog(sh)}`);
      gl.attachShader(prog, sh);
    }
    gl.linkProgram(prog);
    if (!gl.getProgramParameter(prog, gl.LINK_STATUS)) throw new Error(`program: ${gl.getProgramInfoLog(prog)}`);
    this.prog = prog;
    gl.useProgram(prog);
    for (const n of ["u_tex", "u_samples", "u_fn", "u_c", "u_w", "u_invert", "u_colour_scale", "u_step", "u_height"])
      this.u[n] = gl.getUniformLocation(prog, n);
    const buf = gl.createBuffer();
    gl.bindBuffer(gl.ARRAY_BUFFER, buf);
    gl.bufferData(gl.ARRAY_BUFFER, new Float32Array([-1, -1, 3, -1, -1, 3]), gl.STATIC_DRAW);
    const loc = gl.getAttribLocation(prog, "p");
    gl.enableVertexAttribArray(loc);
    gl.vertexAttribPointer(loc, 2, gl.FLOAT, false, 0, 0);
    this.tex = gl.createTexture()!;
    gl.bindTexture(gl.TEXTURE_2D, this.tex);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.NEAREST);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.NEAREST);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);
    gl.uniform1i(this.u.u_tex!, 0);
  }

  private scale = 1;

  setResolution(scale: number): void {
    const s = Math.min(1, Math.max(1e-3, scale));
    if (s === this.scale) return;
    this.scale = s;
    this.size();
  }

  /** The drawing buffer: the native size, or `scale` of it. */
  private size(): void {
    const img = this.img;
    if (!img) return;
    const { rows, columns } = img.header;
    const w = Math.max(1, Math.round(columns * this.scale));
    const hgt = Math.max(1, Math.round(rows * this.scale));
    if (this.canvas.width !== w) this.canvas.width = w;
    if (this.canvas.height !== hgt) this.canvas.height = hgt;
    this.gl.viewport(0, 0, w, hgt);
  }

  setImage(img: RenderInput): void {
    const gl = this.gl;
    const { rows, columns, samples } = img.header;
    this.img = img;
    this.size();
    gl.bindTexture(gl.TEXTURE_2D, this.tex);
    gl.pixelStorei(gl.UNPACK_ALIGNMENT, 1);
    if (samples === 3) gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGB32F, columns, rows, 0, gl.RGB, gl.FLOAT, img.values);
    else gl.texImage2D(gl.TEXTURE_2D, 0, gl.R32F, columns, rows, 0, gl.RED, gl.FLOAT, img.values);
    this.colourScale = samples === 3 ? 1 / 2 ** colourShift(img.values) : 1;
  }

  draw(w: Window, invert: boolean, fn: VoiFunction = "LINEAR"): void {
    const img = this.img;
    if (!img) return;
    const gl = this.gl;
    const win = sanitizeWindow(w, fn === "LINEAR" ? 1 : MIN_FILE_WIDTH);
    gl.useProgram(this.prog);
    gl.uniform1i(this.u.u_samples!, img.header.samples);
    gl.uniform1i(this.u.u_fn!, FN_CODE[fn] ?? 0);
    gl.uniform1f(this.u.u_c!, win.center);
    gl.uniform1f(this.u.u_w!, win.width);
    gl.uniform1i(this.u.u_invert!, img.header.samples === 3 ? (invert ? 1 : 0) : effectiveInvert(img.header, invert) ? 1 : 0);
    gl.uniform1f(this.u.u_colour_scale!, this.colourScale);
    gl.uniform2f(this.u.u_step!, img.header.columns / this.canvas.width, img.header.rows / this.canvas.height);
    gl.uniform1i(this.u.u_height!, this.canvas.height);
    gl.drawArrays(gl.TRIANGLES, 0, 3);
    this.last = { w, invert, fn };
  }

  private last: { w: Window; invert: boolean; fn: VoiFunction } | null = null;

  read(): Uint8Array {
    // Always the native image: back to native size (and the last window) if a drag had it smaller.
    if (this.scale !== 1) {
      this.setResolution(1);
      if (this.last) this.draw(this.last.w, this.last.invert, this.last.fn);
    }
    const gl = this.gl;
    const w = this.canvas.width;
    const h = this.canvas.height;
    const raw = new Uint8Array(w * h * 4);
    gl.readPixels(0, 0, w, h, gl.RGBA, gl.UNSIGNED_BYTE, raw);
    const out = new Uint8Array(w * h * 4);
    for (let y = 0; y < h; y++) out.set(raw.subarray((h - 1 - y) * w * 4, (h - y) * w * 4), y * w * 4);
    return out;
  }

  finish(): void {
    const px = new Uint8Array(4);
    this.gl.readPixels(0, 0, 1, 1, this.gl.RGBA, this.gl.UNSIGNED_BYTE, px);
  }
}

class CpuRenderer implements Renderer {
  readonly kind = "cpu" as const;
  private readonly ctx: CanvasRenderingContext2D;
  private img: RenderInput | null = null;
  private data: ImageData | null = null;

  constructor(readonly canvas: HTMLCanvasElement) {
    const ctx = canvas.getContext("2d");
    if (!ctx) throw new Error("no 2D canvas context");
    this.ctx = ctx;
  }

  setImage(img: RenderInput): void {
    this.canvas.width = img.header.columns;
    this.canvas.height = img.header.rows;
    this.data = this.ctx.createImageData(img.header.columns, img.header.rows);
    this.img = img;
  }

  draw(w: Window, invert: boolean, fn: VoiFunction = "LINEAR"): void {
    if (!this.img || !this.data) return;
    renderRgba({ header: { ...this.img.header, voi_function: fn }, values: this.img.values }, w, invert, this.data.data);
    this.ctx.putImageData(this.data, 0, 0);
  }

  read(): Uint8Array {
    const d = this.ctx.getImageData(0, 0, this.canvas.width, this.canvas.height);
    return new Uint8Array(d.data.buffer.slice(0));
  }

  finish(): void {}

  /** Always native: the CPU path has no cheaper size to draw. */
  setResolution(): void {}
}

/** A WebGL2 renderer when the platform has one, else the CPU renderer. */
export function createRenderer(canvas: HTMLCanvasElement, preferCpu = false): Renderer {
  if (!preferCpu) {
    const gl = canvas.getContext("webgl2", { preserveDrawingBuffer: true, antialias: false, premultipliedAlpha: false });
    if (gl) {
      try {
        return new GlRenderer(canvas, gl);
      } catch (e) {
        console.warn("WebGL2 renderer failed, using the CPU renderer", e);
        // A canvas keeps its first context type: swap in a fresh one for 2D.
        const fresh = document.createElement("canvas");
        fresh.className = canvas.className;
        canvas.replaceWith(fresh);
        return new CpuRenderer(fresh);
      }
    }
  }
  return new CpuRenderer(canvas);
}
