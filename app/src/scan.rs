//! Reading a licence's QR code in the browser: from the camera (a viewfinder, frames decoded
//! every 200 ms) or from a photo. The browser's own `BarcodeDetector` reads it where there is
//! one (Android, macOS, ChromeOS: fast, native); elsewhere, or when it finds nothing in a
//! photo, Rust (rqrr) in the wasm does, so it works in every browser. Both are only in the
//! licences page's bundle (app/src/bundle.rs): nobody downloads a QR decoder to log in.

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

/// RGBA pixels (as canvas `getImageData` returns them) to greyscale, ITU-R BT.601 weights.
pub fn rgba_to_luma(rgba: &[u8]) -> Vec<u8> {
    rgba.chunks_exact(4)
        .map(|p| {
            ((u32::from(p[0]) * 299 + u32::from(p[1]) * 587 + u32::from(p[2]) * 114) / 1000) as u8
        })
        .collect()
}

#[cfg(feature = "hydrate")]
pub mod browser {
    //! The browser side: camera and photo into pixels. Errors are message keys.

    use wasm_bindgen::{JsCast, JsValue};
    use wasm_bindgen_futures::JsFuture;
    use web_sys::{
        CanvasRenderingContext2d, HtmlCanvasElement, HtmlImageElement, HtmlVideoElement,
        MediaStream,
    };

    /// Photos are scaled down to this many pixels on the long side before decoding: enough for a
    /// QR code that fills a fifth of the picture, and fast on a phone.
    const MAX_SIDE: f64 = 1280.0;
    /// A photo is decoded at these sizes (long side) in turn, until a code is found: small
    /// first (fast), then larger for a code that is small in the picture, such as one of the
    /// codes on a photographed A4 sheet, whose modules the first size blurs together.
    const MAX_SIDES: [f64; 2] = [MAX_SIDE, 2.0 * MAX_SIDE];

    fn canvas(width: u32, height: u32) -> Option<(HtmlCanvasElement, CanvasRenderingContext2d)> {
        let document = web_sys::window()?.document()?;
        let canvas: HtmlCanvasElement = document.create_element("canvas").ok()?.dyn_into().ok()?;
        canvas.set_width(width);
        canvas.set_height(height);
        let context = canvas.get_context("2d").ok()??.dyn_into().ok()?;
        Some((canvas, context))
    }

    fn luma(context: &CanvasRenderingContext2d, width: u32, height: u32) -> Option<Vec<u8>> {
        let data = context
            .get_image_data(0.0, 0.0, f64::from(width), f64::from(height))
            .ok()?
            .data();
        Some(super::rgba_to_luma(&data))
    }

    thread_local! {
        /// The browser's `BarcodeDetector` for QR codes: not yet looked for, or what was found.
        static DETECTOR: std::cell::RefCell<Option<Option<JsValue>>> =
            const { std::cell::RefCell::new(None) };
    }

    /// A `BarcodeDetector` for QR codes, when the browser has one.
    fn native_detector() -> Option<JsValue> {
        DETECTOR.with(|cell| {
            cell.borrow_mut()
                .get_or_insert_with(|| {
                    let window = web_sys::window()?;
                    let class: js_sys::Function =
                        js_sys::Reflect::get(&window, &"BarcodeDetector".into())
                            .ok()?
                            .dyn_into()
                            .ok()?;
                    let options = js_sys::Object::new();
                    js_sys::Reflect::set(
                        &options,
                        &"formats".into(),
                        &js_sys::Array::of1(&"qr_code".into()),
                    )
                    .ok()?;
                    js_sys::Reflect::construct(&class, &js_sys::Array::of1(&options)).ok()
                })
                .clone()
        })
    }

    /// What the browser's own detector reads in `source` (a video or an image element):
    /// `None` when it has none or it failed, `Some(None)` when it looked and found no code.
    async fn detect_natively(source: &JsValue) -> Option<Option<String>> {
        let detector = native_detector()?;
        let detect: js_sys::Function = js_sys::Reflect::get(&detector, &"detect".into())
            .ok()?
            .dyn_into()
            .ok()?;
        let promise: js_sys::Promise = detect.call1(&detector, source).ok()?.dyn_into().ok()?;
        let found: js_sys::Array = JsFuture::from(promise).await.ok()?.dyn_into().ok()?;
        Some(found.iter().find_map(|code| {
            js_sys::Reflect::get(&code, &"rawValue".into())
                .ok()?
                .as_string()
        }))
    }

    /// The QR text in the camera's current frame, if any: by the browser's detector where
    /// there is one, else by the wasm's.
    pub async fn scan_video(video: &HtmlVideoElement) -> Option<String> {
        if video.ready_state() < 2 {
            return None;
        }
        match detect_natively(video.as_ref()).await {
            Some(found) => found,
            None => scan_video_in_wasm(video),
        }
    }

    fn scan_video_in_wasm(video: &HtmlVideoElement) -> Option<String> {
        let (width, height) = (video.video_width(), video.video_height());
        if width == 0 || height == 0 {
            return None;
        }
        let (_canvas, context) = canvas(width, height)?;
        context
            .draw_image_with_html_video_element_and_dw_and_dh(
                video,
                0.0,
                0.0,
                f64::from(width),
                f64::from(height),
            )
            .ok()?;
        super::decode_qr(
            width as usize,
            height as usize,
            &luma(&context, width, height)?,
        )
    }

    /// The QR text in a chosen or taken photo.
    pub async fn scan_file(file: web_sys::File) -> Result<String, &'static str> {
        let url = web_sys::Url::create_object_url_with_blob(&file)
            .map_err(|_| "scan.photo_unreadable")?;
        let image = HtmlImageElement::new().map_err(|_| "scan.photo_unreadable")?;
        let loaded = js_sys::Promise::new(&mut |resolve, reject| {
            image.set_onload(Some(&resolve));
            image.set_onerror(Some(&reject));
        });
        image.set_src(&url);
        let result = JsFuture::from(loaded).await;
        let _ = web_sys::Url::revoke_object_url(&url);
        result.map_err(|_| "scan.photo_unreadable")?;
        if let Some(Some(text)) = detect_natively(image.as_ref()).await {
            return Ok(text);
        }
        let (w, h) = (
            f64::from(image.natural_width()),
            f64::from(image.natural_height()),
        );
        for max_side in MAX_SIDES {
            let scale = (max_side / w.max(h)).min(1.0);
            let (width, height) = (
                (w * scale).round().max(1.0) as u32,
                (h * scale).round().max(1.0) as u32,
            );
            let (_canvas, context) = canvas(width, height).ok_or("scan.photo_unreadable")?;
            context
                .draw_image_with_html_image_element_and_dw_and_dh(
                    &image,
                    0.0,
                    0.0,
                    f64::from(width),
                    f64::from(height),
                )
                .map_err(|_| "scan.photo_unreadable")?;
            let luma = luma(&context, width, height).ok_or("scan.photo_unreadable")?;
            if let Some(text) = super::decode_qr(width as usize, height as usize, &luma) {
                return Ok(text);
            }
            if scale >= 1.0 {
                break; // already the photo's own size
            }
        }
        Err("scan.no_code_in_photo")
    }

    /// Opens the rear camera (on phones) into `video`. Errors say why in the user's words.
    pub async fn start_camera(video: &HtmlVideoElement) -> Result<MediaStream, &'static str> {
        let devices = web_sys::window()
            .ok_or("scan.camera_missing")?
            .navigator()
            .media_devices()
            .map_err(|_| "scan.camera_unsupported")?;
        let video_constraints = js_sys::Object::new();
        let _ = js_sys::Reflect::set(
            &video_constraints,
            &"facingMode".into(),
            &"environment".into(),
        );
        let constraints = web_sys::MediaStreamConstraints::new();
        constraints.set_video(&video_constraints);
        constraints.set_audio(&JsValue::FALSE);
        let promise = devices
            .get_user_media_with_constraints(&constraints)
            .map_err(|_| "scan.camera_unsupported")?;
        let stream: MediaStream = JsFuture::from(promise)
            .await
            .map_err(|e| {
                match e
                    .dyn_ref::<web_sys::DomException>()
                    .map(|d| d.name())
                    .as_deref()
                {
                    Some("NotAllowedError") | Some("SecurityError") => "scan.camera_refused",
                    Some("NotFoundError") | Some("OverconstrainedError") => "scan.camera_missing",
                    Some("NotReadableError") => "scan.camera_busy",
                    _ => "scan.camera_unsupported",
                }
            })?
            .dyn_into()
            .map_err(|_| "scan.camera_unsupported")?;
        video.set_src_object(Some(&stream));
        if let Ok(playing) = video.play() {
            let _ = JsFuture::from(playing).await;
        }
        Ok(stream)
    }

    pub fn stop_camera(stream: &MediaStream) {
        for track in stream.get_tracks().iter() {
            if let Ok(track) = track.dyn_into::<web_sys::MediaStreamTrack>() {
                track.stop();
            }
        }
    }
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
