//! The operator's licence commands (`ampwise licences …`) and the printable A4 sheet.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use backend::licences::{self, LicenceKey};
use backend::{Database, Services};
use model::Capability;
use qrcode::{Color, EcLevel, QrCode};

use crate::Config;

/// The link a licence's QR code holds: the redeem page with the code filled in, so a phone's own
/// camera app works too.
pub fn redeem_url(public_url: &str, code: &str) -> String {
    format!(
        "{}/settings/licences?code={code}",
        public_url.trim_end_matches('/')
    )
}

async fn open(config: &Config) -> anyhow::Result<(Services, LicenceKey)> {
    let key = config
        .licence_key
        .clone()
        .context("AMPWISE_LICENCE_KEY is not set: licence codes need the key that signs them")?;
    let db = Database::connect(&config.database_url)
        .await
        .context("opening the database")?;
    Ok((Services::new(&db), key))
}

/// Mints `count` codes, prints them one a line, and writes the A4 sheets when asked.
pub async fn mint(
    config: &Config,
    capability: &str,
    count: usize,
    sheet: Option<&Path>,
) -> anyhow::Result<Vec<PathBuf>> {
    let capability = Capability::parse(capability)
        .with_context(|| format!("unknown capability {capability:?}; known: charge-amps"))?;
    if !(1..=10_000).contains(&count) {
        bail!("--count must be 1 to 10000");
    }
    let (services, key) = open(config).await?;
    let codes = licences::mint(&services, &key, capability, count).await?;
    for code in &codes {
        println!("{code}");
    }
    let mut written = Vec::new();
    if let Some(prefix) = sheet {
        for (n, page) in sheet_pages(&codes, capability, &config.public_url)
            .into_iter()
            .enumerate()
        {
            let path = PathBuf::from(format!("{}-{}.svg", prefix.display(), n + 1));
            std::fs::write(&path, page).with_context(|| format!("writing {}", path.display()))?;
            eprintln!("wrote {}", path.display());
            written.push(path);
        }
    }
    Ok(written)
}

pub async fn list(config: &Config) -> anyhow::Result<()> {
    let db = Database::connect(&config.database_url)
        .await
        .context("opening the database")?;
    println!(
        "{:<23}  {:<24}  {:<24}  {:<8}  redeemed by",
        "code", "capability", "minted (UTC)", "status"
    );
    for l in db.repo().minted_licences().await? {
        let status = if l.revoked {
            "revoked"
        } else if l.redeemed_by.is_some() {
            "redeemed"
        } else {
            "unused"
        };
        println!(
            "{:<23}  {:<24}  {:<24}  {:<8}  {}",
            l.code,
            l.capability,
            l.minted_at,
            status,
            l.redeemed_by.unwrap_or_default()
        );
    }
    Ok(())
}

pub async fn revoke(config: &Config, code: &str) -> anyhow::Result<()> {
    let (services, key) = open(config).await?;
    match licences::revoke(&services, &key, code).await? {
        Ok(true) => println!("revoked {code}"),
        Ok(false) => println!("{code} was already revoked"),
        Err(e) => bail!("{code}: {e}"),
    }
    Ok(())
}

// A4 in millimetres, two columns of four cards.
const PAGE_W: f64 = 210.0;
const PAGE_H: f64 = 297.0;
const COLS: usize = 2;
const ROWS: usize = 4;
const MARGIN: f64 = 12.0;
const QR_MM: f64 = 40.0;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// One SVG document per A4 page, eight cards a page: QR code, typed code, capability in Swedish
/// and English.
pub fn sheet_pages(codes: &[String], capability: Capability, public_url: &str) -> Vec<String> {
    let (name_sv, name_en) = match capability {
        Capability::ChargeAmps => ("Charge Amps-integration", "Charge Amps integration"),
    };
    let card_w = (PAGE_W - 2.0 * MARGIN) / COLS as f64;
    let card_h = (PAGE_H - 2.0 * MARGIN) / ROWS as f64;
    codes
        .chunks(COLS * ROWS)
        .map(|page| {
            let mut svg = format!(
                r#"<svg xmlns="http://www.w3.org/2000/svg" width="{PAGE_W}mm" height="{PAGE_H}mm" viewBox="0 0 {PAGE_W} {PAGE_H}" font-family="Helvetica, Arial, sans-serif">"#
            );
            svg.push_str(r##"<rect width="100%" height="100%" fill="#fff"/>"##);
            for (i, code) in page.iter().enumerate() {
                let x = MARGIN + (i % COLS) as f64 * card_w;
                let y = MARGIN + (i / COLS) as f64 * card_h;
                let _ = write!(
                    svg,
                    r##"<g transform="translate({x} {y})"><rect x="1" y="1" width="{w}" height="{h}" rx="3" fill="none" stroke="#999" stroke-width="0.3" stroke-dasharray="2 1.5"/>"##,
                    w = card_w - 2.0,
                    h = card_h - 2.0
                );
                let _ = write!(svg, r##"<g transform="translate(6 6)">{}</g>"##, qr_path(&redeem_url(public_url, code), QR_MM));
                let tx = 6.0 + QR_MM + 4.0;
                let _ = write!(
                    svg,
                    r##"<text x="{tx}" y="12" font-size="4.2" font-weight="bold">Ampwise</text><text x="{tx}" y="19" font-size="3.2">{}</text><text x="{tx}" y="24" font-size="3.2" fill="#555">{}</text><text x="{tx}" y="33" font-size="2.6" fill="#555">Licenskod / Licence code</text>"##,
                    esc(name_sv),
                    esc(name_en)
                );
                let _ = write!(
                    svg,
                    r##"<text x="6" y="{cy}" font-size="4.6" font-family="DejaVu Sans Mono, Menlo, monospace" letter-spacing="0.3">{}</text><text x="6" y="{sy}" font-size="2.5" fill="#555">Skanna eller skriv koden i Ampwise: Inställningar → Licenser.</text><text x="6" y="{sy2}" font-size="2.5" fill="#555">Scan or type the code in Ampwise: Settings → Licences.</text></g>"##,
                    esc(code),
                    cy = 6.0 + QR_MM + 8.0,
                    sy = 6.0 + QR_MM + 14.0,
                    sy2 = 6.0 + QR_MM + 17.5
                );
            }
            svg.push_str("</svg>\n");
            svg
        })
        .collect()
}

/// The QR code of `text` as one SVG path of `size` mm, with the standard quiet zone.
fn qr_path(text: &str, size: f64) -> String {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)
        .expect("a licence link fits in a QR code");
    let width = code.width();
    let quiet = 4;
    let module = size / (width + 2 * quiet) as f64;
    let mut d = String::new();
    for (i, color) in code.to_colors().into_iter().enumerate() {
        if color == Color::Dark {
            let (x, y) = (
                (i % width + quiet) as f64 * module,
                (i / width + quiet) as f64 * module,
            );
            let _ = write!(d, "M{x:.3} {y:.3}h{module:.3}v{module:.3}h-{module:.3}z");
        }
    }
    format!(r##"<rect width="{size}" height="{size}" fill="#fff"/><path d="{d}" fill="#000"/>"##)
}

/// The QR modules of `text` (dark = true), for tests that decode what the sheet draws.
pub fn qr_modules(text: &str) -> (usize, Vec<bool>) {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M).expect("fits");
    (
        code.width(),
        code.to_colors()
            .into_iter()
            .map(|c| c == Color::Dark)
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(n: usize) -> Vec<String> {
        let key = LicenceKey::from_hex(&"42".repeat(32)).unwrap();
        (0..n)
            .map(|_| licences::mint_code(&key, Capability::ChargeAmps).0)
            .collect()
    }

    #[test]
    fn eight_cards_a_page() {
        let codes = codes(17);
        let pages = sheet_pages(&codes, Capability::ChargeAmps, "https://ampwise.se");
        assert_eq!(pages.len(), 3);
        for (page, chunk) in pages.iter().zip(codes.chunks(8)) {
            assert!(page.contains(r#"width="210mm" height="297mm""#));
            for code in chunk {
                assert!(page.contains(code.as_str()), "{code}");
            }
            assert!(
                page.contains("Charge Amps-integration")
                    && page.contains("Charge Amps integration")
            );
        }
    }

    /// The QR code drawn on the sheet decodes (with a real QR decoder) to the redeem link.
    #[test]
    fn qr_decodes_to_the_redeem_link() {
        let code = &codes(1)[0];
        let url = redeem_url("https://ampwise.se/", code);
        assert_eq!(
            url,
            format!("https://ampwise.se/settings/licences?code={code}")
        );
        let (width, dark) = qr_modules(&url);
        let scale = 4;
        let quiet = 4;
        let side = (width + 2 * quiet) * scale;
        let mut image = rqrr::PreparedImage::prepare_from_greyscale(side, side, |x, y| {
            let (mx, my) = (
                (x / scale) as isize - quiet as isize,
                (y / scale) as isize - quiet as isize,
            );
            let inside = (0..width as isize).contains(&mx) && (0..width as isize).contains(&my);
            if inside && dark[my as usize * width + mx as usize] {
                0
            } else {
                255
            }
        });
        let grids = image.detect_grids();
        assert_eq!(grids.len(), 1);
        let (_, text) = grids[0].decode().unwrap();
        assert_eq!(text, url);
        assert_eq!(model::licence::from_scan(&text), code);
    }
}
