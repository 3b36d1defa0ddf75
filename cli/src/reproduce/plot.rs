//! Figures: a grid of panels, each with lines and shaded confidence bands,
//! drawn with plotters to SVG and PNG.
//!
//! Text needs a TrueType font: DejaVu Sans from Debian's `fonts-dejavu-core`
//! (or the file named by `METAPLASTICITY_FONT`), loaded once.

use std::error::Error;
use std::path::Path;
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};

/// Where the font is looked for, in order, after `METAPLASTICITY_FONT`.
const FONTS: [&str; 2] = ["/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/TTF/DejaVuSans.ttf"];

/// One curve: `(x, y)` points and an optional band `(x, lower, upper)`.
#[derive(Clone, Debug, Default)]
pub struct Series {
    /// Legend label.
    pub label: String,
    /// The line.
    pub points: Vec<(f64, f64)>,
    /// The shaded band around it.
    pub band: Vec<(f64, f64, f64)>,
    /// Dashed reference line (drawn thinner, in grey when `color` is `None`).
    pub dashed: bool,
    /// Palette index (`None`: grey).
    pub color: Option<usize>,
}

/// One panel of a figure.
#[derive(Clone)]
pub struct Panel {
    /// Title above the panel, e.g. "(a) meta-accuracy".
    pub title: String,
    /// Label of the x axis.
    pub x_label: String,
    /// Label of the y axis.
    pub y_label: String,
    /// The curves.
    pub series: Vec<Series>,
    /// Fixed y range (default: fitted to the data).
    pub y_range: Option<(f64, f64)>,
    /// Where the legend goes.
    pub legend: SeriesLabelPosition,
}

/// Writes `<stem>.svg` and `<stem>.png`: `panels` in a grid of `columns`.
pub fn figure(stem: &Path, panels: &[Panel], columns: usize) -> Result<(), Box<dyn Error>> {
    font()?;
    let columns = columns.clamp(1, panels.len().max(1));
    let rows = panels.len().div_ceil(columns);
    let size = if panels.len() == 1 { (800, 520) } else { (520 * columns as u32, 380 * rows as u32) };
    let svg = stem.with_extension("svg");
    let png = stem.with_extension("png");
    {
        let root = SVGBackend::new(&svg, size).into_drawing_area();
        draw(&root, panels, rows, columns)?;
        root.present()?;
    }
    {
        let root = BitMapBackend::new(&png, size).into_drawing_area();
        draw(&root, panels, rows, columns)?;
        root.present()?;
    }
    Ok(())
}

fn font() -> Result<(), Box<dyn Error>> {
    static LOADED: OnceLock<Result<(), String>> = OnceLock::new();
    LOADED
        .get_or_init(|| {
            let candidates: Vec<String> =
                std::env::var("METAPLASTICITY_FONT").into_iter().chain(FONTS.iter().map(|s| s.to_string())).collect();
            let Some((path, bytes)) = candidates.iter().find_map(|p| std::fs::read(p).ok().map(|b| (p, b))) else {
                return Err(format!(
                    "no font for the plots: install DejaVu Sans (sudo apt-get install -y fonts-dejavu-core) \
                     or set METAPLASTICITY_FONT to a .ttf file (looked in {})",
                    candidates.join(", ")
                ));
            };
            let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
            register_font("sans-serif", FontStyle::Normal, bytes).map_err(|_| format!("{path} is not a TrueType font"))
        })
        .clone()
        .map_err(Into::into)
}

/// A colour-blind-safe palette (Okabe-Ito).
const PALETTE: [RGBColor; 7] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(0, 0, 0),
];

fn color(c: Option<usize>) -> RGBColor {
    c.map_or(RGBColor(128, 128, 128), |i| PALETTE[i % PALETTE.len()])
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    panels: &[Panel],
    rows: usize,
    columns: usize,
) -> Result<(), Box<dyn Error>>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    for (area, panel) in root.split_evenly((rows, columns)).iter().zip(panels) {
        draw_panel(area, panel)?;
    }
    Ok(())
}

fn draw_panel<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, panel: &Panel) -> Result<(), Box<dyn Error>>
where
    DB::ErrorType: 'static,
{
    let finite = |v: f64| v.is_finite();
    let xs = panel.series.iter().flat_map(|s| s.points.iter().map(|p| p.0)).filter(|&v| finite(v));
    let (x0, x1) = bounds(xs).unwrap_or((0.0, 1.0));
    let (y0, y1) = panel.y_range.unwrap_or_else(|| {
        let ys = panel
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.1).chain(s.band.iter().flat_map(|b| [b.1, b.2])));
        let (lo, hi) = bounds(ys.filter(|&v| finite(v))).unwrap_or((0.0, 1.0));
        let pad = 0.05 * (hi - lo).max(1e-12);
        (lo - pad, hi + pad)
    });
    let mut chart = ChartBuilder::on(area)
        .caption(&panel.title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(42)
        .y_label_area_size(64)
        .build_cartesian_2d(x0..x1, y0..y1)?;
    // As many decimals as a tenth of the axis span needs.
    let ticks = |span: f64| {
        let decimals = (-(span / 10.0).log10()).ceil().clamp(0.0, 8.0) as usize;
        // `+ 0.0` turns -0 into 0.
        move |v: &f64| format!("{:.decimals$}", v + 0.0)
    };
    let (x_ticks, y_ticks) = (ticks(x1 - x0), ticks(y1 - y0));
    chart
        .configure_mesh()
        .x_label_formatter(&x_ticks)
        .y_label_formatter(&y_ticks)
        .x_desc(&panel.x_label)
        .y_desc(&panel.y_label)
        .label_style(("sans-serif", 14))
        .axis_desc_style(("sans-serif", 16))
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    for s in &panel.series {
        let c = color(s.color);
        let band: Vec<(f64, f64)> = s
            .band
            .iter()
            .filter(|b| b.1.is_finite() && b.2.is_finite())
            .map(|b| (b.0, b.1))
            .chain(s.band.iter().rev().filter(|b| b.1.is_finite() && b.2.is_finite()).map(|b| (b.0, b.2)))
            .collect();
        if band.len() > 2 {
            chart.draw_series(std::iter::once(Polygon::new(band, c.mix(0.2))))?;
        }
        let style = if s.dashed { c.stroke_width(1) } else { c.stroke_width(2) };
        // Split the line at missing values instead of joining across them.
        let segments = s.points.split(|p| !(p.0.is_finite() && p.1.is_finite()));
        let mut labelled = false;
        for seg in segments.filter(|seg| !seg.is_empty()) {
            let points = seg.iter().copied();
            let drawn = if s.dashed {
                chart.draw_series(DashedLineSeries::new(points, 6, 4, style))?
            } else {
                chart.draw_series(LineSeries::new(points, style))?
            };
            if !labelled && !s.label.is_empty() {
                drawn
                    .label(&s.label)
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2)));
                labelled = true;
            }
        }
    }
    if panel.series.iter().any(|s| !s.label.is_empty()) {
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .label_font(("sans-serif", 14))
            .position(panel.legend.clone())
            .draw()?;
    }
    Ok(())
}

fn bounds(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    values
        .fold(None, |acc, v| match acc {
            None => Some((v, v)),
            Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
        })
        .map(|(lo, hi)| if hi > lo { (lo, hi) } else { (lo - 0.5, hi + 0.5) })
}
