/* FER Studio's prediction pipeline in JavaScript: MTCNN (core/inference/onnx_detector.py), eye-aligned crops
 * (core/inference/align.py), the classifier with its TTA (core/data/preprocessing.py) and the live tracking
 * (core/inference/tracking.py), run by onnxruntime-web. A port, step for step, so the browser finds the same faces
 * and gives the same probabilities as the Python pipeline: PIL's gray conversion, bilinear resize and affine
 * transform, torch's area resize and numpy's float32 arithmetic (Math.fround) are reproduced exactly.
 * A classic script for a page or a worker: it defines self.FerPipeline and needs `ort` only when a model runs. */
"use strict";

(() => {
  const THRESHOLDS = [0.6, 0.7, 0.7]; // onnx_detector.THRESHOLDS
  const FACTOR = 0.709; // onnx_detector.FACTOR
  const MIN_FACE_SIZE = 40; // faces.FaceDetector's default
  const SCORE_THRESHOLD = 0.9; // faces.SCORE_THRESHOLD
  const MIN_SIDE = 12; // core/data/images.MIN_SIDE
  const SMALL_IMAGE = 128; // predictor.SMALL_IMAGE
  const EYE_DISTANCE = 17.84 / 48; // align.EYE_DISTANCE
  const EYE_CENTRE = [24.41 / 48, 18.67 / 48]; // align.EYE_CENTRE
  const EYE_TO_BOX = [0.29, 0.40]; // align.EYE_TO_BOX
  const SMOOTH_WINDOW = 5; // tracking.SMOOTH_WINDOW
  const f32 = Math.fround;

  function pyRound(x) { // Python's round(): halves to even
    const r = Math.round(x);
    return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
  }

  /* ---------- PIL: convert("L"), resize(BILINEAR), transform(AFFINE, BILINEAR) ---------- */

  function grayFromRGBA(rgba, count) {
    // PIL's rgb2l: L = (R*19595 + G*38470 + B*7471 + 0x8000) >> 16
    const gray = new Uint8Array(count);
    for (let i = 0, j = 0; i < count; i++, j += 4) {
      gray[i] = (rgba[j] * 19595 + rgba[j + 1] * 38470 + rgba[j + 2] * 7471 + 0x8000) >> 16;
    }
    return gray;
  }

  function triangleCoefficients(inSize, outSize) {
    // PIL's precompute_coeffs: a triangle filter, widened when shrinking, normalised per output pixel.
    const scale = inSize / outSize, filterScale = Math.max(scale, 1), support = filterScale;
    const ksize = Math.ceil(support) * 2 + 1;
    const bounds = new Int32Array(outSize * 2), weights = new Float64Array(outSize * ksize);
    for (let xx = 0; xx < outSize; xx++) {
      const center = (xx + 0.5) * scale;
      const xmin = Math.max(0, Math.trunc(center - support + 0.5));
      const count = Math.min(inSize, Math.trunc(center + support + 0.5)) - xmin;
      let total = 0;
      for (let x = 0; x < count; x++) {
        weights[xx * ksize + x] = Math.max(0, 1 - Math.abs((x + xmin - center + 0.5) / filterScale));
        total += weights[xx * ksize + x];
      }
      for (let x = 0; x < count && total !== 0; x++) weights[xx * ksize + x] /= total;
      bounds[xx * 2] = xmin;
      bounds[xx * 2 + 1] = count;
    }
    return { bounds, weights, ksize };
  }

  function pilCoefficients(inSize, outSize) { // + normalize_coeffs_8bpc: 22-bit integer weights
    const { bounds, weights, ksize } = triangleCoefficients(inSize, outSize);
    return { bounds, weights: weights.map((w) => Math.floor(0.5 + w * (1 << 22))), ksize };
  }

  function clip8(sum) {
    return sum >= 1 << 30 ? 255 : sum <= 0 ? 0 : Math.floor(sum / (1 << 22));
  }

  function resizePixels(src, width, height, channels, outW, outH) {
    // PIL's 8-bit resample: horizontal pass into an 8-bit temporary, then vertical; channels interleaved.
    let image = src, w = width;
    if (outW !== width) {
      const { bounds, weights, ksize } = pilCoefficients(width, outW);
      image = new Uint8Array(outW * height * channels);
      for (let y = 0; y < height; y++) for (let xx = 0; xx < outW; xx++) for (let c = 0; c < channels; c++) {
        let sum = 1 << 21;
        const first = (y * width + bounds[xx * 2]) * channels + c;
        for (let x = 0; x < bounds[xx * 2 + 1]; x++) sum += src[first + x * channels] * weights[xx * ksize + x];
        image[(y * outW + xx) * channels + c] = clip8(sum);
      }
      w = outW;
    }
    if (outH === height) return image;
    const { bounds, weights, ksize } = pilCoefficients(height, outH);
    const out = new Uint8Array(w * outH * channels), row = w * channels;
    for (let yy = 0; yy < outH; yy++) for (let i = 0; i < row; i++) {
      let sum = 1 << 21;
      for (let y = 0; y < bounds[yy * 2 + 1]; y++) sum += image[(bounds[yy * 2] + y) * row + i] * weights[yy * ksize + y];
      out[yy * row + i] = clip8(sum);
    }
    return out;
  }

  function cutPadded(gray, width, height, left, top, right, bottom) {
    // core/data/images.cut_padded: the rectangle, edge pixels repeated outside the image
    const w = right - left, h = bottom - top, out = new Uint8Array(w * h);
    for (let y = 0; y < h; y++) {
      const row = Math.min(height - 1, Math.max(0, top + y)) * width;
      for (let x = 0; x < w; x++) out[y * w + x] = gray[row + Math.min(width - 1, Math.max(0, left + x))];
    }
    return out;
  }

  function affineBilinear(src, width, height, out, [a, b, c, d, e, f]) {
    // PIL's ImagingGenericTransform with bilinear_filter8: output pixel centres mapped into the source, sampled
    // between the four nearest pixels (clamped at the edges), the result truncated to 8 bits; outside stays 0.
    const result = new Uint8Array(out * out);
    for (let y = 0; y < out; y++) for (let x = 0; x < out; x++) {
      let xin = a * (x + 0.5) + b * (y + 0.5) + c, yin = d * (x + 0.5) + e * (y + 0.5) + f;
      if (xin < 0 || xin >= width || yin < 0 || yin >= height) continue;
      xin -= 0.5;
      yin -= 0.5;
      const xi = xin < 0 ? Math.floor(xin) : Math.trunc(xin), yi = yin < 0 ? Math.floor(yin) : Math.trunc(yin);
      const dx = xin - xi, dy = yin - yi;
      const x0 = Math.min(width - 1, Math.max(0, xi)), x1 = Math.min(width - 1, Math.max(0, xi + 1));
      const row0 = Math.min(height - 1, Math.max(0, yi)) * width;
      let v1 = src[row0 + x0] + (src[row0 + x1] - src[row0 + x0]) * dx;
      let v2 = v1;
      if (yi + 1 >= 0 && yi + 1 < height) {
        const row1 = (yi + 1) * width;
        v2 = src[row1 + x0] + (src[row1 + x1] - src[row1 + x0]) * dx;
      }
      v1 = v1 + (v2 - v1) * dy;
      result[y * out + x] = v1 < 0 ? 0 : v1 > 255 ? 255 : Math.trunc(v1);
    }
    return result;
  }

  /* ---------- eye-aligned crops: core/inference/align.py ---------- */

  function frameSide(landmarks, box) {
    const [[lx, ly], [rx, ry]] = landmarks;
    const boxSide = Math.max(box[2] - box[0], box[3] - box[1]);
    const distance = Math.min(Math.max(Math.hypot(rx - lx, ry - ly), EYE_TO_BOX[0] * boxSide), EYE_TO_BOX[1] * boxSide);
    return distance / EYE_DISTANCE;
  }

  function alignmentAffine(landmarks, box, out) {
    const [[lx, ly], [rx, ry]] = landmarks;
    const angle = Math.atan2(ry - ly, rx - lx), scale = frameSide(landmarks, box) / out;
    const cos = scale * Math.cos(angle), sin = scale * Math.sin(angle);
    const cu = EYE_CENTRE[0] * out, cv = EYE_CENTRE[1] * out, mx = (lx + rx) / 2, my = (ly + ry) / 2;
    return [cos, -sin, mx - cos * cu + sin * cv, sin, cos, my - sin * cu - cos * cv];
  }

  function alignFace(gray, width, height, landmarks, box, size) {
    const out = Math.max(1, pyRound(frameSide(landmarks, box)));
    const [a, b, c, d, e, f] = alignmentAffine(landmarks, box, out);
    const xs = [], ys = [];
    for (const u of [0, out]) for (const v of [0, out]) { xs.push(a * u + b * v + c); ys.push(d * u + e * v + f); }
    const left = Math.floor(Math.min(...xs)) - 1, top = Math.floor(Math.min(...ys)) - 1;
    const right = Math.ceil(Math.max(...xs)) + 1, bottom = Math.ceil(Math.max(...ys)) + 1;
    const region = cutPadded(gray, width, height, left, top, right, bottom);
    const square = affineBilinear(region, right - left, bottom - top, out, [a, b, c - left, d, e, f - top]);
    return resizePixels(square, out, out, 1, size, size);
  }

  function squareBox(box, margin) { // faces.square_box
    const side = Math.max(box[2] - box[0], box[3] - box[1]) * (1 + margin);
    const left = pyRound((box[0] + box[2]) / 2 - side / 2), top = pyRound((box[1] + box[3]) / 2 - side / 2);
    return [left, top, left + pyRound(side), top + pyRound(side)];
  }

  function faceCrop(gray, width, height, face, size) { // faces.face_crop with align=True
    if (!face) return resizePixels(gray, width, height, 1, size, size);
    if (face.landmarks) return alignFace(gray, width, height, face.landmarks, face.box, size);
    const [l, t, r, b] = squareBox(face.box, 0.2);
    return resizePixels(cutPadded(gray, width, height, l, t, r, b), r - l, b - t, 1, size, size);
  }

  /* ---------- MTCNN: core/inference/onnx_detector.py ---------- */

  function areaResize(image, channels, height, width, outH, outW) {
    // torch's adaptive average pooling through float64 cumulative sums, rows then columns; float32 out.
    const rows = new Float64Array(channels * outH * width), sums = new Float64Array(height + 1);
    const rowStart = new Int32Array(outH), rowEnd = new Int32Array(outH);
    for (let i = 0; i < outH; i++) { rowStart[i] = Math.floor(i * height / outH); rowEnd[i] = Math.ceil((i + 1) * height / outH); }
    for (let c = 0; c < channels; c++) for (let x = 0; x < width; x++) {
      const base = c * height * width + x;
      for (let y = 0; y < height; y++) sums[y + 1] = sums[y] + image[base + y * width];
      for (let i = 0; i < outH; i++) rows[(c * outH + i) * width + x] = (sums[rowEnd[i]] - sums[rowStart[i]]) / (rowEnd[i] - rowStart[i]);
    }
    const out = new Float32Array(channels * outH * outW), colSums = new Float64Array(width + 1);
    const colStart = new Int32Array(outW), colEnd = new Int32Array(outW);
    for (let j = 0; j < outW; j++) { colStart[j] = Math.floor(j * width / outW); colEnd[j] = Math.ceil((j + 1) * width / outW); }
    for (let r = 0; r < channels * outH; r++) {
      for (let x = 0; x < width; x++) colSums[x + 1] = colSums[x] + rows[r * width + x];
      for (let j = 0; j < outW; j++) out[r * outW + j] = (colSums[colEnd[j]] - colSums[colStart[j]]) / (colEnd[j] - colStart[j]);
    }
    return out;
  }

  function normaliseMtcnn(values) {
    for (let i = 0; i < values.length; i++) values[i] = f32(f32(values[i] - 127.5) * 0.0078125);
    return values;
  }

  function pyramidScales(height, width, minFaceSize) {
    let scale = 12.0 / minFaceSize, side = Math.min(height, width) * 12.0 / minFaceSize;
    const scales = [];
    while (side >= 12) { scales.push(scale); scale *= FACTOR; side *= FACTOR; }
    return scales;
  }

  function nms(boxes, threshold, mode = "union") {
    // boxes: arrays [x0, y0, x1, y1, score, ...] in float32 values; indices kept, best score first (stable).
    const plus = mode === "min" ? 1 : 0, limit = f32(threshold);
    const areas = boxes.map((b) => f32(f32(f32(b[2] - b[0]) + plus) * f32(f32(b[3] - b[1]) + plus)));
    let order = boxes.map((_, i) => i).sort((i, j) => (boxes[j][4] - boxes[i][4]) || (i - j));
    const keep = [];
    while (order.length) {
      const i = order[0], bi = boxes[i];
      keep.push(i);
      order = order.slice(1).filter((j) => {
        const bj = boxes[j];
        const w = Math.max(0, f32(f32(Math.min(bi[2], bj[2]) - Math.max(bi[0], bj[0])) + plus));
        const h = Math.max(0, f32(f32(Math.min(bi[3], bj[3]) - Math.max(bi[1], bj[1])) + plus));
        const inter = f32(w * h);
        const overlap = f32(inter / (mode === "min" ? Math.min(areas[i], areas[j]) : f32(f32(areas[i] + areas[j]) - inter)));
        return overlap <= limit;
      });
    }
    return keep;
  }

  function square(box) { // same centre, side = the longer side; other entries kept
    const w = f32(box[2] - box[0]), h = f32(box[3] - box[1]), side = Math.max(w, h);
    const x0 = f32(f32(box[0] + f32(w * 0.5)) - f32(side * 0.5)), y0 = f32(f32(box[1] + f32(h * 0.5)) - f32(side * 0.5));
    return [x0, y0, f32(x0 + side), f32(y0 + side), ...box.slice(4)];
  }

  function regress(box, offsets) {
    const w = f32(f32(box[2] - box[0]) + 1), h = f32(f32(box[3] - box[1]) + 1), sides = [w, h, w, h];
    return [...[0, 1, 2, 3].map((k) => f32(box[k] + f32(offsets[k] * sides[k]))), ...box.slice(4)];
  }

  function mtcnnCrops(image, height, width, boxes, side) {
    // Normalised crops (n, 3, side, side) of the boxes (clipped to the image) and which boxes gave one.
    const valid = [], batch = [];
    for (const box of boxes) {
      const ints = box.slice(0, 4).map(Math.trunc);
      const x0 = Math.max(ints[0], 1), y0 = Math.max(ints[1], 1), x1 = Math.min(ints[2], width), y1 = Math.min(ints[3], height);
      const ok = y1 > y0 - 1 && x1 > x0 - 1;
      valid.push(ok);
      if (!ok) continue;
      const h = y1 - y0 + 1, w = x1 - x0 + 1, cut = new Float32Array(3 * h * w);
      for (let c = 0; c < 3; c++) for (let y = 0; y < h; y++) {
        const from = c * height * width + (y0 - 1 + y) * width + x0 - 1;
        cut.set(image.subarray(from, from + w), (c * h + y) * w);
      }
      batch.push(areaResize(cut, 3, h, w, side, side));
    }
    const data = new Float32Array(batch.length * 3 * side * side);
    batch.forEach((crop, i) => data.set(crop, i * 3 * side * side));
    return { data: normaliseMtcnn(data), count: batch.length, valid };
  }

  class Mtcnn {
    constructor(sessions, minFaceSize = MIN_FACE_SIZE) { this.sessions = sessions; this.minFaceSize = minFaceSize; }

    async run(name, data, dims) {
      const session = this.sessions[name];
      const output = await session.run({ image: new ort.Tensor("float32", data, dims) });
      return session.outputNames.map((n) => output[n]);
    }

    async detect(rgba, width, height) {
      // Boxes [x0, y0, x1, y1, score] and landmarks [[x, y] x 5] in an RGBA image (ImageData's layout).
      const image = new Float32Array(3 * height * width);
      for (let i = 0, j = 0; i < height * width; i++, j += 4) {
        image[i] = rgba[j]; image[height * width + i] = rgba[j + 1]; image[2 * height * width + i] = rgba[j + 2];
      }
      let boxes = await this.stageOne(image, height, width);
      if (boxes.length) boxes = await this.stageTwo(image, height, width, boxes);
      if (!boxes.length) return { boxes: [], landmarks: [] };
      return this.stageThree(image, height, width, boxes);
    }

    async stageOne(image, height, width) {
      let found = [];
      for (const scale of pyramidScales(height, width, this.minFaceSize)) {
        const h = Math.trunc(height * scale + 1), w = Math.trunc(width * scale + 1);
        const level = normaliseMtcnn(areaResize(image, 3, height, width, h, w));
        const [regression, probabilities] = await this.run("pnet", level, [1, 3, h, w]);
        const [, , mh, mw] = probabilities.dims, score = probabilities.data, offsets = regression.data;
        const s = f32(scale), threshold = f32(THRESHOLDS[0]), boxes = [];
        for (let y = 0; y < mh; y++) for (let x = 0; x < mw; x++) {
          const p = score[mh * mw + y * mw + x];
          if (p < threshold) continue;
          boxes.push([Math.floor(f32(f32(2 * x + 1) / s)), Math.floor(f32(f32(2 * y + 1) / s)),
            Math.floor(f32(f32(2 * x + 12) / s)), Math.floor(f32(f32(2 * y + 12) / s)), p,
            ...[0, 1, 2, 3].map((k) => offsets[k * mh * mw + y * mw + x])]);
        }
        found = found.concat(nms(boxes, 0.5).map((i) => boxes[i]));
      }
      return nms(found, 0.7).map((i) => {
        const b = found[i], w = f32(b[2] - b[0]), h = f32(b[3] - b[1]), sides = [w, h, w, h];
        return square([...[0, 1, 2, 3].map((k) => f32(b[k] + f32(b[5 + k] * sides[k]))), b[4]]);
      });
    }

    async refine(name, side, image, height, width, boxes, threshold) {
      const { data, count, valid } = mtcnnCrops(image, height, width, boxes, side);
      const outputs = await this.run(name, data, [count, 3, side, side]);
      const probabilities = outputs[outputs.length - 1].data, kept = [];
      boxes.filter((_, i) => valid[i]).forEach((box, i) => {
        const score = probabilities[i * 2 + 1];
        if (score > f32(threshold)) kept.push({ box: [...box.slice(0, 4), score], i });
      });
      return { kept, outputs };
    }

    async stageTwo(image, height, width, boxes) {
      const { kept, outputs: [regression] } = await this.refine("rnet", 24, image, height, width, boxes, THRESHOLDS[1]);
      const pick = nms(kept.map((k) => k.box), 0.7);
      return pick.map((p) => square(regress(kept[p].box, regression.data.slice(kept[p].i * 4, kept[p].i * 4 + 4))));
    }

    async stageThree(image, height, width, boxes) {
      const { kept, outputs: [regression, points] } = await this.refine("onet", 48, image, height, width, boxes, THRESHOLDS[2]);
      const moved = [], landmarks = [];
      for (const { box, i } of kept) {
        const w = f32(f32(box[2] - box[0]) + 1), h = f32(f32(box[3] - box[1]) + 1), p = points.data.slice(i * 10, i * 10 + 10);
        landmarks.push([0, 1, 2, 3, 4].map((k) => [f32(f32(f32(w * p[k]) + box[0]) - 1), f32(f32(f32(h * p[5 + k]) + box[1]) - 1)]));
        moved.push(regress(box, regression.data.slice(i * 4, i * 4 + 4)));
      }
      const pick = nms(moved, 0.7, "min");
      return { boxes: pick.map((p) => moved[p]), landmarks: pick.map((p) => landmarks[p]) };
    }
  }

  /* ---------- the classifier: core/data/preprocessing.py ---------- */

  function ttaViews(size, tta) {
    const whole = [[0, 0, size, false], [0, 0, size, true]];
    if (tta === "none") return whole.slice(0, 1);
    if (tta === "flip") return whole;
    const crop = Math.max(1, pyRound(size * 11 / 12)), edge = size - crop;
    const corners = [[0, 0], [0, edge], [edge, 0], [edge, edge], [Math.floor(edge / 2), Math.floor(edge / 2)]];
    return whole.concat(corners.flatMap(([top, left]) => [[top, left, crop, false], [top, left, crop, true]]));
  }

  function cutView(input, size, [top, left, side, flip]) {
    // the square (top, left, side) of normalised floats resized back to size (float triangle filter, as
    // preprocessing.resize_numpy: vertical pass first), mirrored when asked
    const { bounds, weights, ksize } = triangleCoefficients(side, size);
    const rows = new Float64Array(size * side);
    for (let yy = 0; yy < size; yy++) for (let x = 0; x < side; x++) {
      let sum = 0;
      for (let k = 0; k < bounds[yy * 2 + 1]; k++) sum += input[(top + bounds[yy * 2] + k) * size + left + x] * weights[yy * ksize + k];
      rows[yy * side + x] = sum;
    }
    const out = new Float32Array(size * size);
    for (let y = 0; y < size; y++) for (let xx = 0; xx < size; xx++) {
      let sum = 0;
      for (let k = 0; k < bounds[xx * 2 + 1]; k++) sum += rows[y * side + bounds[xx * 2] + k] * weights[xx * ksize + k];
      out[y * size + (flip ? size - 1 - xx : xx)] = sum;
    }
    return out;
  }

  function softmax(logits, offset, count) {
    const row = Array.from(logits.subarray(offset, offset + count)), top = Math.max(...row);
    const exps = row.map((v) => Math.exp(v - top)), total = exps.reduce((a, b) => a + b, 0);
    return exps.map((v) => v / total);
  }

  class Classifier {
    constructor(session, config) { this.session = session; this.config = config; this.spec = config.preprocessing; }

    async logits(input, n) {
      const size = this.spec.input_size;
      const output = await this.session.run({ input: new ort.Tensor("float32", input, [n, 1, size, size]) });
      return output[this.session.outputNames[0]].data;
    }

    async classify(crops, tta = this.spec.tta) {
      // gray uint8 crops (size x size each) -> one row of probabilities per crop, averaged over the TTA views
      const size = this.spec.input_size, views = ttaViews(size, tta), classes = this.config.classes.length;
      const { mean, std } = this.spec, plane = size * size;
      const input = new Float32Array(crops.length * views.length * plane);
      crops.forEach((crop, c) => {
        const x = Float32Array.from(crop, (v) => (v / 255 - mean) / std);
        views.forEach((view, v) => input.set(cutView(x, size, view), (c * views.length + v) * plane));
      });
      const logits = await this.logits(input, crops.length * views.length);
      return crops.map((_, c) => {
        const rows = views.map((__, v) => softmax(logits, (c * views.length + v) * classes, classes));
        return this.calibrated(rows[0].map((___, k) => rows.reduce((t, r) => t + r[k], 0) / rows.length));
      });
    }

    calibrated(probabilities) { // preprocessing.calibrated: softmax((log(p) + b) / T), b the logit adjustment
      const t = this.spec.temperature || 1, bias = this.spec.logit_bias || [];
      if (t === 1 && bias.length === 0) return probabilities;
      const logs = Float32Array.from(probabilities, (p, c) => (Math.log(Math.max(p, 1e-12)) + (bias[c] || 0)) / t);
      return softmax(logs, 0, probabilities.length);
    }
  }

  /* ---------- the whole prediction: core/inference/predictor.py ---------- */

  function readingOrder(faces) { // predictor.reading_order
    if (faces.length < 2 || faces.some((f) => !f.box)) return faces;
    const rows = [];
    const centre = (f) => (f.box[1] + f.box[3]) / 2;
    for (const face of [...faces].sort((a, b) => centre(a) - centre(b))) {
      const last = rows[rows.length - 1];
      if (last && centre(face) - centre(last[0]) < (face.box[3] - face.box[1]) / 2) last.push(face);
      else rows.push([face]);
    }
    return rows.flatMap((row) => row.sort((a, b) => (a.box[0] + a.box[2]) - (b.box[0] + b.box[2])));
  }

  class Pipeline {
    constructor(detector, classifier) { this.detector = detector; this.classifier = classifier; }

    static async load(base, config, sessionOptions = {}) {
      const options = { executionProviders: ["wasm"], ...sessionOptions };
      const make = (file) => ort.InferenceSession.create(new URL(file, base).href, options);
      const [pnet, rnet, onet, model] = await Promise.all(
        ["mtcnn/pnet.onnx", "mtcnn/rnet.onnx", "mtcnn/onet.onnx", "model.onnx"].map(make));
      return new Pipeline(new Mtcnn({ pnet, rnet, onet }), new Classifier(model, config));
    }

    async detect(rgba, width, height, maxSide) {
      // faces.FaceDetector.detect: shrunk to maxSide (PIL bilinear), faces scoring >= 0.9, most confident first
      const scale = Math.min(1, maxSide / Math.max(width, height));
      let small = rgba, w = width, h = height;
      if (scale !== 1) {
        w = Math.max(1, pyRound(width * scale)); h = Math.max(1, pyRound(height * scale));
        small = resizePixels(rgba, width, height, 4, w, h);
      }
      if (Math.min(w, h) < Math.max(MIN_SIDE, this.detector.minFaceSize)) return [];
      const { boxes, landmarks } = await this.detector.detect(small, w, h);
      const faces = [];
      boxes.forEach((box, i) => {
        if (box[4] < f32(SCORE_THRESHOLD)) return;
        faces.push({ box: box.slice(0, 4).map((v) => v / scale), score: box[4],
                     landmarks: landmarks[i].map(([x, y]) => [x / scale, y / scale]) });
      });
      return faces.map((f, i) => [f, i]).sort((a, b) => (b[0].score - a[0].score) || (a[1] - b[1])).map(([f]) => f);
    }

    async predict(rgba, width, height, { maxSide = 640, whole = null, tta } = {}) {
      // Predictor.predict: faces (box, score, landmarks, probabilities, label, confidence) in reading order
      if (Math.min(width, height) < MIN_SIDE) return { faces: [], message: "the image is too small to hold a face" };
      const start = performance.now();
      let faces = whole ? [null] : await this.detect(rgba, width, height, maxSide);
      const detectMs = performance.now() - start;
      if (whole === null && Math.max(width, height) <= SMALL_IMAGE) {
        const b = faces[0] && faces[0].box;
        if (!faces.length || (faces.length === 1 && (b[2] - b[0]) * (b[3] - b[1]) >= 0.4 * width * height)) faces = [null];
      }
      if (!faces.length) return { faces: [], message: "no face found in the image", detectMs, classifyMs: 0 };
      const gray = grayFromRGBA(rgba, width * height), size = this.classifier.spec.input_size;
      const crops = faces.map((face) => faceCrop(gray, width, height, face, size));
      const classifyStart = performance.now();
      const rows = await this.classifier.classify(crops, tta);
      const classes = this.classifier.config.classes;
      const predictions = faces.map((face, i) => {
        const best = rows[i].indexOf(Math.max(...rows[i]));
        return { box: face && face.box, score: face && face.score, landmarks: face && face.landmarks, crop: crops[i],
                 probabilities: rows[i], label: classes[best], confidence: rows[i][best] };
      });
      return { faces: readingOrder(predictions), message: `${faces.length} face${faces.length > 1 ? "s" : ""} found`,
               detectMs, classifyMs: performance.now() - classifyStart };
    }
  }

  /* ---------- live tracking: core/inference/tracking.py ---------- */

  function centreOf(box) { return box ? [(box[0] + box[2]) / 2, (box[1] + box[3]) / 2] : [0, 0]; }

  function smoothFaces(tracks, faces, window = SMOOTH_WINDOW, boxWeight = 1.0) {
    // each face's probabilities averaged over its last `window` detections; boxes smoothed when boxWeight < 1
    const pairs = [];
    faces.forEach((face, f) => {
      const reach = face.box ? Math.max(face.box[2] - face.box[0], face.box[3] - face.box[1]) : Infinity;
      tracks.forEach((track, t) => {
        const [ax, ay] = centreOf(face.box), distance = Math.hypot(ax - track.centre[0], ay - track.centre[1]);
        if (distance <= reach) pairs.push([distance, f, t]);
      });
    });
    pairs.sort((a, b) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2]);
    const matched = new Map(), used = new Set();
    for (const [, f, t] of pairs) if (!matched.has(f) && !used.has(t)) { matched.set(f, t); used.add(t); }
    const newTracks = [], smoothed = [];
    faces.forEach((face, f) => {
      const track = matched.has(f) ? tracks[matched.get(f)] : null;
      const kept = track ? track.history.filter((h) => h.length === face.probabilities.length) : [];
      const history = (window > 1 ? kept.slice(-(window - 1)) : []).concat([face.probabilities]);
      const mean = face.probabilities.map((_, c) => history.reduce((s, h) => s + h[c], 0) / history.length);
      const best = mean.indexOf(Math.max(...mean));
      const box = track && track.box && face.box ? face.box.map((n, i) => boxWeight * n + (1 - boxWeight) * track.box[i]) : face.box;
      smoothed.push({ ...face, box, probabilities: mean, best, confidence: mean[best] });
      newTracks.push({ centre: centreOf(face.box), history, box });
    });
    return { tracks: newTracks, faces: smoothed };
  }

  self.FerPipeline = { Pipeline, Mtcnn, Classifier, smoothFaces, readingOrder, grayFromRGBA, resizePixels,
                       alignFace, areaResize, nms, pyRound };
})();
