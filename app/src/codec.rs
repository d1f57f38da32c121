//! How data travels from the server to the browser: JSON, written on the server by serde_json
//! (so the wire is what it always was: tests, scripts and other clients read plain JSON), and
//! read in the browser by the browser's own `JSON.parse` and serde-wasm-bindgen. A JSON parser
//! compiled into the wasm (serde_json, with its float parsing and a visitor per type) was a
//! tenth of the bundle's code.
//!
//! [`Json`] is both a server-function encoding (`#[server(output = Json)]`, and the error
//! encoding of [`AppError`](crate::error::AppError)) and a resource codec ([`Res`],
//! [`resource`]: what the server renders into the page for hydration).

use std::fmt;
use std::future::Future;

use leptos::prelude::Resource;
use leptos::server_fn::codec::Post;
use leptos::server_fn::{Bytes, ContentType, Decodes, Encodes, Format, FormatType};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// JSON written by serde_json on the server, read by the browser's `JSON.parse` in the wasm.
pub struct JsonCodec;

/// Our server functions' encoding both ways (`#[server(input = Json, output = Json)]`): a POST
/// of JSON answered with JSON. The server also takes the classic form body
/// (`application/x-www-form-urlencoded`) as the arguments, which a form posted without
/// JavaScript sends (`components::PostForm`), as do scripts and our tests. So the browser needs
/// no form-encoding library (serde_qs was 39 KB of every bundle's code) and the server answers
/// forms exactly as before. (A server function used with leptos's `ActionForm` keeps its
/// default form input: `ActionForm` requires it.)
pub type Json = Post<JsonCodec>;

/// A resource whose value is sent to the browser as JSON read by [`JsonCodec`].
pub type Res<T> = Resource<T, JsonCodec>;

/// Text that could not be read as (or written as) the JSON of the type expected.
#[derive(Debug)]
pub struct CodecError(String);

impl fmt::Display for CodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "JSON: {}", self.0)
    }
}

/// `value` as JSON text.
pub fn to_json<T: Serialize>(value: &T) -> Result<String, CodecError> {
    #[cfg(not(feature = "hydrate"))]
    {
        serde_json::to_string(value).map_err(|e| CodecError(e.to_string()))
    }
    #[cfg(feature = "hydrate")]
    {
        let serializer = serde_wasm_bindgen::Serializer::json_compatible();
        let value = value
            .serialize(&serializer)
            .map_err(|e| CodecError(e.to_string()))?;
        js_sys::JSON::stringify(&value)
            .map(String::from)
            .map_err(|_| CodecError("not serialisable".into()))
    }
}

/// The `T` written in the JSON `text`.
pub fn from_json<T: DeserializeOwned>(text: &str) -> Result<T, CodecError> {
    #[cfg(not(feature = "hydrate"))]
    {
        serde_json::from_str(text).map_err(|e| CodecError(e.to_string()))
    }
    #[cfg(feature = "hydrate")]
    {
        let value = js_sys::JSON::parse(text).map_err(|_| CodecError("not JSON".into()))?;
        serde_wasm_bindgen::from_value(value).map_err(|e| CodecError(e.to_string()))
    }
}

/// A resource read with [`JsonCodec`] (what `Resource::new` is with serde_json).
#[track_caller]
pub fn resource<T, S, Fut>(
    source: impl Fn() -> S + Send + Sync + 'static,
    fetcher: impl Fn(S) -> Fut + Send + Sync + 'static,
) -> Res<T>
where
    T: Serialize + DeserializeOwned + Send + Sync + 'static,
    S: PartialEq + Clone + Send + Sync + 'static,
    Fut: Future<Output = T> + Send + 'static,
{
    Resource::new_with_options(source, fetcher, false)
}

impl ContentType for JsonCodec {
    const CONTENT_TYPE: &'static str = "application/json";
}

impl FormatType for JsonCodec {
    const FORMAT_TYPE: Format = Format::Text;
}

impl<T: Serialize> Encodes<T> for JsonCodec {
    type Error = CodecError;

    fn encode(value: &T) -> Result<Bytes, CodecError> {
        to_json(value).map(Bytes::from)
    }
}

impl<T: DeserializeOwned> Decodes<T> for JsonCodec {
    type Error = CodecError;

    fn decode(bytes: Bytes) -> Result<T, CodecError> {
        let text = std::str::from_utf8(&bytes).map_err(|e| CodecError(e.to_string()))?;
        read_json_or_form(text)
    }
}

/// A body as JSON when it is an object (`{`: a form body never starts so, it would be
/// `%7B`), else, on the server, as a form, read as server_fn reads forms (nesting up to 5,
/// not strict). The arguments of a server function are always an object.
fn read_json_or_form<T: DeserializeOwned>(text: &str) -> Result<T, CodecError> {
    if text.trim_start().starts_with('{') {
        return from_json(text);
    }
    #[cfg(feature = "ssr")]
    {
        serde_qs::Config::new(5, false)
            .deserialize_str(text)
            .map_err(|e| CodecError(e.to_string()))
    }
    // Only a server reads requests; in the browser a body is always an answer, in JSON.
    #[cfg(not(feature = "ssr"))]
    from_json(text)
}

impl<T: Serialize> codee::Encoder<T> for JsonCodec {
    type Error = CodecError;
    type Encoded = String;

    fn encode(value: &T) -> Result<String, CodecError> {
        to_json(value)
    }
}

impl<T: DeserializeOwned> codee::Decoder<T> for JsonCodec {
    type Error = CodecError;
    type Encoded = str;

    fn decode(text: &str) -> Result<T, CodecError> {
        from_json(text)
    }
}

#[cfg(test)]
mod tests {
    use super::{from_json, to_json};
    use crate::error::AppError;

    #[test]
    fn what_the_server_writes_reads_back_the_same() {
        let cases = [
            ("unit variant", AppError::NotFound),
            (
                "struct variant",
                AppError::Invalid {
                    field: "name".into(),
                    key: "error.name_required".into(),
                },
            ),
            (
                "number field",
                AppError::RateLimited {
                    retry_after_secs: 30,
                },
            ),
        ];
        for (name, error) in cases {
            let text = to_json(&error).unwrap();
            assert_eq!(
                from_json::<AppError>(&text).unwrap(),
                error,
                "{name}: {text}"
            );
        }
    }

    #[test]
    fn text_that_is_not_the_type_is_an_error() {
        for (name, text) in [("not JSON", "{"), ("unknown variant", "\"Nope\"")] {
            assert!(from_json::<AppError>(text).is_err(), "{name}");
        }
    }

    /// What a server function receives: JSON from our wasm, a form from a browser without it
    /// (or a script); both the same arguments, anything else an error.
    #[cfg(feature = "ssr")]
    #[test]
    fn a_body_is_read_as_json_or_as_a_form() {
        use super::read_json_or_form;

        #[derive(Debug, PartialEq, serde::Deserialize)]
        struct LogIn {
            email: String,
            password: String,
        }
        let want = || LogIn {
            email: "a+b@example.se".into(),
            password: "räksmörgås & {x}".into(),
        };
        let ok = [
            (
                "JSON from the wasm",
                r#"{"email":"a+b@example.se","password":"räksmörgås & {x}"}"#,
            ),
            (
                "JSON with leading space",
                r#" {"password":"räksmörgås & {x}","email":"a+b@example.se"}"#,
            ),
            (
                "form without JavaScript",
                "email=a%2Bb%40example.se&password=r%C3%A4ksm%C3%B6rg%C3%A5s+%26+%7Bx%7D",
            ),
        ];
        for (name, body) in ok {
            assert_eq!(read_json_or_form::<LogIn>(body).unwrap(), want(), "{name}");
        }
        let bad = [
            ("JSON missing a field", r#"{"email":"a@example.se"}"#),
            ("JSON cut short", r#"{"email":"#),
            ("form missing a field", "email=a%40example.se"),
            ("JSON array", r#"["a@example.se","x"]"#),
            ("empty", ""),
        ];
        for (name, body) in bad {
            assert!(read_json_or_form::<LogIn>(body).is_err(), "{name}");
        }
    }
}
