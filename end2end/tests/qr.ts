// A licence's QR code as the video Chromium's fake camera plays
// (--use-file-for-fake-video-capture), for the camera scanning test.
import * as fs from 'node:fs';
import * as QRCode from 'qrcode';

/** One 640x480 4:2:0 frame (Chromium loops it), the code in the middle on a light background. */
export function qrY4m(text: string, file: string): void {
  const { size, data } = QRCode.create(text, { errorCorrectionLevel: 'M' }).modules;
  const [w, h] = [640, 480];
  const scale = Math.floor(400 / (size + 8));
  const offX = Math.floor((w - size * scale) / 2);
  const offY = Math.floor((h - size * scale) / 2);
  const y = Buffer.alloc(w * h, 220);
  for (let my = 0; my < size; my++) {
    for (let mx = 0; mx < size; mx++) {
      if (!data[my * size + mx]) continue;
      for (let dy = 0; dy < scale; dy++) {
        y.fill(25, (offY + my * scale + dy) * w + offX + mx * scale, (offY + my * scale + dy) * w + offX + (mx + 1) * scale);
      }
    }
  }
  const chroma = Buffer.alloc((w / 2) * (h / 2), 128);
  const header = Buffer.from(`YUV4MPEG2 W${w} H${h} F10:1 Ip A1:1 C420jpeg\n`);
  fs.writeFileSync(file, Buffer.concat([header, Buffer.from('FRAME\n'), y, chroma, chroma]));
}
