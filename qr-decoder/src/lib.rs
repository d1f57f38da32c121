//! The QR decoder for browsers without one of their own (`BarcodeDetector`: Android, macOS and
//! ChromeOS have it; Firefox, iOS and desktop Linux do not). rqrr, the decoder, is a third of the
//! licences page's bundle, so it is a wasm of its own: `scripts/build-site.sh` builds it, and the
//! page (app/src/scan.rs) loads it on the first frame or photo the browser cannot read itself.
//! Nobody whose browser reads QR codes downloads it at all.

use wasm_bindgen::prelude::wasm_bindgen;

/// The text of the first QR code in `rgba` (`width` × `height` pixels as a canvas's
/// `getImageData` returns them); `None` when it holds none or is shorter than its size says.
#[wasm_bindgen]
pub fn decode_rgba(width: usize, height: usize, rgba: &[u8]) -> Option<String> {
    if rgba.len() < width.saturating_mul(height).saturating_mul(4) {
        return None;
    }
    decode_qr(width, height, &rgba_to_luma(rgba))
}

/// The text of the first QR code in a greyscale image (`luma`, row by row, `width` × `height`).
pub fn decode_qr(width: usize, height: usize, luma: &[u8]) -> Option<String> {
    if width == 0 || height == 0 || luma.len() < width * height {
        return None;
    }
    let mut image =
        rqrr::PreparedImage::prepare_from_greyscale(width, height, |x, y| luma[y * width + x]);
    image
        .detect_grids()
        .into_iter()
        .find_map(|grid| grid.decode().ok().map(|(_, text)| text))
}

/// RGBA pixels to greyscale, ITU-R BT.601 weights.
pub fn rgba_to_luma(rgba: &[u8]) -> Vec<u8> {
    rgba.chunks_exact(4)
        .map(|p| {
            ((u32::from(p[0]) * 299 + u32::from(p[1]) * 587 + u32::from(p[2]) * 114) / 1000) as u8
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Renders `text` as a QR code: `scale` px a module, a 4-module quiet zone, as a camera frame
    /// of `frame` × `frame` px with the code in the middle.
    fn frame(text: &str, scale: usize, frame: usize) -> Vec<u8> {
        let code = qrcode::QrCode::new(text.as_bytes()).unwrap();
        let width = code.width();
        let colors = code.to_colors();
        let offset = (frame - width * scale) / 2;
        let mut luma = vec![230u8; frame * frame];
        for y in 0..width * scale {
            for x in 0..width * scale {
                if colors[(y / scale) * width + x / scale] == qrcode::Color::Dark {
                    luma[(y + offset) * frame + x + offset] = 20;
                }
            }
        }
        luma
    }

    #[test]
    fn decodes_a_licence_link_in_a_frame() {
        let url = "https://ampwise.se/settings/licences?code=A27FY-SEYDY-X6TRK-K44ST";
        assert_eq!(
            decode_qr(480, 480, &frame(url, 6, 480)).as_deref(),
            Some(url)
        );
    }

    #[test]
    fn decodes_the_pixels_a_canvas_gives() {
        let url = "https://ampwise.se/settings/licences?code=A27FY-SEYDY-X6TRK-K44ST";
        let rgba: Vec<u8> = frame(url, 6, 480)
            .into_iter()
            .flat_map(|l| [l, l, l, 255])
            .collect();
        assert_eq!(decode_rgba(480, 480, &rgba).as_deref(), Some(url));
        assert_eq!(
            decode_rgba(480, 480, &rgba[..rgba.len() - 4]),
            None,
            "fewer pixels than the size says are refused, not read past"
        );
        assert_eq!(decode_rgba(usize::MAX, 2, &rgba), None, "no overflow");
    }

    #[test]
    fn nothing_in_a_blank_frame() {
        assert_eq!(decode_qr(64, 64, &[200; 64 * 64]), None);
        assert_eq!(decode_qr(0, 0, &[]), None);
        assert_eq!(
            decode_qr(10, 10, &[0; 5]),
            None,
            "short buffers are refused, not read past"
        );
    }

    #[test]
    fn rgba_weights() {
        assert_eq!(
            rgba_to_luma(&[255, 255, 255, 255, 0, 0, 0, 255, 255, 0, 0, 255]),
            [255, 0, 76]
        );
    }
}
