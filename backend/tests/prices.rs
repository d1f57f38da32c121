//! The price sources' parsers on recorded answers (tests/fixtures/prices, with their sources).

use backend::prices::{Unit, elprisetjustnu, entsoe, nordpool};
use model::PriceArea;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/prices/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn ms(t: &str) -> i64 {
    t.parse::<jiff::Timestamp>().unwrap().as_millisecond()
}

#[test]
fn nord_pool_quarter_hours_on_the_first_day_of_15_minute_delivery() {
    let day = nordpool::parse(
        &fixture("indices_15_SE3_2025-10-01.json"),
        PriceArea::SE3,
        "SEK",
    )
    .unwrap();
    assert_eq!(day.unit, Unit::SekPerMwh);
    assert_eq!(day.slots.len(), 96);
    assert_eq!(day.slots[0].start_ms, ms("2025-09-30T22:00:00Z"));
    assert_eq!(day.slots[0].end_ms, ms("2025-09-30T22:15:00Z"));
    assert_eq!(day.slots[0].price, 556.68);
}

#[test]
fn nord_pool_hourly_prices_per_area() {
    let body = fixture("delivery_period_SE3_SE4_2024-11-05.json");
    let se3 = nordpool::parse(&body, PriceArea::SE3, "EUR").unwrap();
    let se4 = nordpool::parse(&body, PriceArea::SE4, "EUR").unwrap();
    assert_eq!((se3.slots.len(), se4.slots.len()), (24, 24));
    assert_eq!(se3.slots[0].price, 250.73);
    assert_eq!(se4.slots[0].price, 283.79);
    assert!(
        nordpool::parse(&body, PriceArea::SE1, "EUR").is_err(),
        "no SE1 in this answer"
    );
}

#[test]
fn elprisetjustnu_in_sek_per_kwh() {
    let day = elprisetjustnu::parse(&fixture("elprisetjustnu_2025-10-01_SE3.json")).unwrap();
    assert_eq!(day.unit, Unit::SekPerKwh);
    assert_eq!(day.slots.len(), 96);
    assert_eq!(day.slots[0].start_ms, ms("2025-09-30T22:00:00Z"));
    assert_eq!(day.slots[0].price, 0.55668);
}

#[test]
fn entsoe_a44_on_the_most_negative_day() {
    let xml = String::from_utf8(fixture("entsoe_a44_SE3_2023-07-16.xml")).unwrap();
    let day = entsoe::parse(&xml).unwrap();
    assert_eq!(day.unit, Unit::EurPerMwh);
    assert_eq!(day.slots.len(), 24);
    let cheapest = day
        .slots
        .iter()
        .min_by(|a, b| a.price.total_cmp(&b.price))
        .unwrap();
    assert_eq!(cheapest.price, -60.04);
    assert_eq!(cheapest.start_ms, ms("2023-07-16T12:00:00Z"));
}

#[test]
fn entsoe_left_out_points_repeat_the_price_before() {
    let xml = r#"<Publication_MarketDocument><TimeSeries>
        <currency_Unit.name>EUR</currency_Unit.name><price_Measure_Unit.name>MWH</price_Measure_Unit.name>
        <Period><timeInterval><start>2025-10-01T22:00Z</start><end>2025-10-01T23:00Z</end></timeInterval>
        <resolution>PT15M</resolution>
        <Point><position>1</position><price.amount>10.5</price.amount></Point>
        <Point><position>3</position><price.amount>-2</price.amount></Point>
        </Period></TimeSeries></Publication_MarketDocument>"#;
    let prices: Vec<f64> = entsoe::parse(xml)
        .unwrap()
        .slots
        .iter()
        .map(|s| s.price)
        .collect();
    assert_eq!(prices, [10.5, 10.5, -2.0, -2.0]);
}

#[test]
fn bad_answers_are_refused_not_guessed() {
    let refused = [
        (
            "nord_pool_not_json",
            nordpool::parse(b"<html>", PriceArea::SE3, "SEK").is_err(),
        ),
        (
            "nord_pool_in_dollars",
            nordpool::parse(
                br#"{"currency":"USD","multiIndexEntries":[]}"#,
                PriceArea::SE3,
                "SEK",
            )
            .is_err(),
        ),
        (
            "elprisetjustnu_bad_time",
            elprisetjustnu::parse(br#"[{"SEK_per_kWh":1,"time_start":"today","time_end":"x"}]"#)
                .is_err(),
        ),
        (
            "entsoe_in_dollars",
            entsoe::parse("<a><currency_Unit.name>USD</currency_Unit.name></a>").is_err(),
        ),
    ];
    for (name, refused) in refused {
        assert!(refused, "{name}");
    }
}

#[test]
fn eur_per_mwh_becomes_sek_per_kwh() {
    assert!((Unit::EurPerMwh.to_sek_per_kwh(100.0, 11.5) - 1.15).abs() < 1e-12);
    assert!((Unit::SekPerMwh.to_sek_per_kwh(556.68, 11.5) - 0.55668).abs() < 1e-12);
}
