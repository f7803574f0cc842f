// The digit canvas: a 280×280 black pad drawn on in white with the mouse, a pen or a finger.
// A Streamlit components-v2 module; app/digit_canvas.py mounts it and documents the contract:
// it reports the drawing as the state value `drawing` = {seq, generation, pen, strokes}, at
// once when a stroke ends (and on Undo and Clear) and every LIVE_MS while the pen is down and
// has drawn something since the last report; Python hands back
// `data` = {answered: <seq of the drawing last answered>, retry: bool}.

const SIZE = 280;
const PEN_WIDTH = 18;
const LIVE_MS = 100; // while the pen is down: at most one drawing per 100 ms ...
const STALL_MS = 1000; // ... and only once the last one was answered (or after 1 s)
const RETRY_MS = 1500; // an answer that was a problem is asked again this much later

// A stroke may leave the canvas (the pointer is captured): its points are kept within a
// canvas size of it, as far as app/drawing.py reads them, so that the canvas paints what
// the models are given.
const onPad = (position) => Math.min(2 * SIZE, Math.max(-SIZE, Math.round(position)));

let lastSeq = 0; // one sequence for the page, so a remounted pad never goes back in time
const pads = new WeakMap();

class DigitPad {
  constructor(root) {
    this.canvas = root.querySelector(".digit-canvas");
    this.undoButton = root.querySelector(".undo");
    this.context = this.canvas.getContext("2d");
    this.strokes = [];
    this.generation = 0;
    this.pointer = null;
    this.box = null;
    Object.assign(this, {sentSeq: 0, sentAt: 0, answered: 0, liveTimer: null, retryTimer: null});
    this.unsent = false; // points added since the last report
    this.scale();
    this.listen(root);
    this.repaint();
  }

  scale() {
    const ratio = window.devicePixelRatio || 1;
    this.canvas.width = this.canvas.height = Math.round(SIZE * ratio);
    this.context.scale(ratio, ratio);
    Object.assign(this.context, {lineWidth: PEN_WIDTH, lineCap: "round", lineJoin: "round",
                                 strokeStyle: "#fff", fillStyle: "#fff"});
  }

  listen(root) {
    const on = (type, handler) => this.canvas.addEventListener(type, handler.bind(this));
    on("pointerdown", this.penDown);
    on("pointermove", this.penMove);
    on("pointerup", this.penUp);
    on("pointercancel", this.penUp);
    on("lostpointercapture", this.penUp);
    this.undoButton.addEventListener("click", () => this.undo());
    root.querySelector(".clear").addEventListener("click", () => this.clear());
  }

  penDown(event) {
    if (this.pointer !== null || (event.pointerType === "mouse" && event.button !== 0)) return;
    event.preventDefault();
    this.pointer = event.pointerId;
    this.canvas.setPointerCapture(event.pointerId);
    this.box = this.canvas.getBoundingClientRect();
    this.strokeStarted = performance.now();
    this.strokes.push([]);
    this.addPoint(event);
    this.scheduleLive();
  }

  penMove(event) {
    if (event.pointerId !== this.pointer) return;
    const moves = event.getCoalescedEvents ? event.getCoalescedEvents() : [];
    for (const move of moves.length ? moves : [event]) this.addPoint(move);
    this.scheduleLive();
  }

  penUp(event) {
    if (event.pointerId !== this.pointer) return;
    this.pointer = null;
    this.send();
  }

  addPoint(event) {
    const x = onPad(((event.clientX - this.box.left) * SIZE) / this.box.width);
    const y = onPad(((event.clientY - this.box.top) * SIZE) / this.box.height);
    const stroke = this.strokes[this.strokes.length - 1];
    const last = stroke[stroke.length - 1];
    if (last && last[0] === x && last[1] === y) return;
    stroke.push([x, y]);
    this.unsent = true;
    this.paint(last ? [last, [x, y]] : [[x, y]]);
  }

  paint(points) {
    const context = this.context;
    context.beginPath();
    if (points.length === 1) {
      context.arc(points[0][0], points[0][1], PEN_WIDTH / 2, 0, 2 * Math.PI);
      context.fill();
      return;
    }
    context.moveTo(points[0][0], points[0][1]);
    for (const [x, y] of points) context.lineTo(x, y);
    context.stroke();
  }

  repaint() {
    const context = this.context;
    context.save();
    context.fillStyle = "#000";
    context.fillRect(0, 0, SIZE, SIZE);
    context.restore();
    for (const stroke of this.strokes) this.paint(stroke);
  }

  undo() {
    this.pointer = null;
    this.strokes.pop();
    this.repaint();
    this.send();
  }

  clear() {
    this.pointer = null;
    this.strokes = [];
    this.generation += 1;
    this.repaint();
    this.send();
  }

  send() {
    const pen = this.pointer === null ? "up" : "down"; // a retry may come mid-stroke
    clearTimeout(this.liveTimer);
    clearTimeout(this.retryTimer);
    this.liveTimer = this.retryTimer = null;
    this.sentSeq = ++lastSeq;
    this.unsent = false;
    this.sentAt = performance.now();
    const strokes = this.strokes.map((stroke) => stroke.flat());
    const drawing = {seq: this.sentSeq, generation: this.generation, pen, strokes};
    this.report(drawing);
    this.undoButton.disabled = this.strokes.length === 0;
  }

  scheduleLive() {
    if (this.liveTimer !== null || this.pointer === null || !this.unsent) return;
    const waiting = this.answered < this.sentSeq;
    const since = Math.max(this.sentAt, this.strokeStarted);
    const due = since + (waiting ? STALL_MS : LIVE_MS);
    this.liveTimer = setTimeout(() => {
      this.liveTimer = null;
      if (this.pointer !== null) this.send();
    }, Math.max(0, due - performance.now()));
  }

  acknowledge({answered = 0, retry = false}) {
    this.answered = Math.max(this.answered, answered);
    if (this.pointer !== null && this.answered >= this.sentSeq) {
      clearTimeout(this.liveTimer);
      this.liveTimer = null;
      this.scheduleLive();
    }
    if (retry && answered === this.sentSeq && this.pointer === null && !this.retryTimer) {
      this.retryTimer = setTimeout(() => this.send(), RETRY_MS);
    }
  }

  stop() {
    clearTimeout(this.liveTimer);
    clearTimeout(this.retryTimer);
  }
}

export default function (component) {
  const {parentElement, data, setStateValue} = component;
  let pad = pads.get(parentElement);
  if (!pad) {
    pad = new DigitPad(parentElement);
    pads.set(parentElement, pad);
  }
  pad.report = (drawing) => setStateValue("drawing", drawing);
  pad.acknowledge(data ?? {});
  // Streamlit calls this module again whenever `data` changes, and may call the cleanup of
  // an earlier call while this pad lives on: stop only once the pad has left the page.
  return () => {
    if (!parentElement.isConnected) pad.stop();
  };
}
