//! Reading a licence's QR code in the browser: from the camera (a viewfinder, frames decoded
//! every 200 ms) or from a photo. The browser's own `BarcodeDetector` reads it where there is
//! one (Android, macOS, ChromeOS: fast, native); elsewhere, or when it finds nothing in a
//! photo, our decoder does (the `qr-decoder` crate: its own small wasm, which the page's loader
//! fetches the first time it is needed), so it works in every browser. All of it is only in
//! the licences page's bundle (app/src/bundle.rs): nobody downloads a QR decoder to log in, and
//! a phone that reads QR codes itself never downloads ours.

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

    /// The canvas's pixels (RGBA) as the browser holds them: handed to the decoder's wasm
    /// without a copy through this one.
    fn pixels(context: &CanvasRenderingContext2d, width: u32, height: u32) -> Option<JsValue> {
        let image = context
            .get_image_data(0.0, 0.0, f64::from(width), f64::from(height))
            .ok()?;
        js_sys::Reflect::get(&image, &"data".into()).ok()
    }

    /// Our decoder could not be loaded (a dropped connection, say): the message key.
    const DECODER_MISSING: &str = "scan.decoder_unavailable";

    /// What our decoder (the `qr-decoder` wasm) reads in `rgba`. The page's loader (boot.js)
    /// fetches it on the first call and keeps it; a failed fetch is tried again next time.
    async fn decode_in_wasm(
        width: u32,
        height: u32,
        rgba: &JsValue,
    ) -> Result<Option<String>, &'static str> {
        let window = web_sys::window().ok_or(DECODER_MISSING)?;
        let load: js_sys::Function = js_sys::Reflect::get(&window, &"ampwiseQrDecoder".into())
            .ok()
            .and_then(|load| load.dyn_into().ok())
            .ok_or(DECODER_MISSING)?;
        let loading: js_sys::Promise = load
            .call0(&window)
            .ok()
            .and_then(|loading| loading.dyn_into().ok())
            .ok_or(DECODER_MISSING)?;
        let module = JsFuture::from(loading).await.map_err(|_| DECODER_MISSING)?;
        let decode: js_sys::Function = js_sys::Reflect::get(&module, &"decode_rgba".into())
            .ok()
            .and_then(|decode| decode.dyn_into().ok())
            .ok_or(DECODER_MISSING)?;
        let found = decode
            .call3(&module, &width.into(), &height.into(), rgba)
            .map_err(|_| DECODER_MISSING)?;
        Ok(found.as_string())
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
    /// there is one, else by ours. An error (a message key) when ours could not be loaded.
    pub async fn scan_video(video: &HtmlVideoElement) -> Result<Option<String>, &'static str> {
        if video.ready_state() < 2 {
            return Ok(None);
        }
        match detect_natively(video.as_ref()).await {
            Some(found) => Ok(found),
            None => match frame_pixels(video) {
                Some((width, height, rgba)) => decode_in_wasm(width, height, &rgba).await,
                None => Ok(None),
            },
        }
    }

    /// The camera's current frame: its size and pixels.
    fn frame_pixels(video: &HtmlVideoElement) -> Option<(u32, u32, JsValue)> {
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
        Some((width, height, pixels(&context, width, height)?))
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
            let rgba = pixels(&context, width, height).ok_or("scan.photo_unreadable")?;
            if let Some(text) = decode_in_wasm(width, height, &rgba).await? {
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
