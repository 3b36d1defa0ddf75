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
    /// A logarithmic y axis (values that are not positive are left out).
    pub log_y: bool,
}

/// Writes `<stem>.svg` and `<stem>.png`: `panels` in a grid of `columns`,
/// each with its legend to the right of its data, and `caption` (what the
/// lines and bands are, how many trials) as a line under the grid. Labels,
/// titles and the caption are written in the code's notation (`theta_0`,
/// `alpha_1`, `F^bio`) and drawn as θ₀, α₁, Fᵇⁱᵒ (see [`pretty`]).
pub fn figure(stem: &Path, panels: &[Panel], columns: usize, caption: &str) -> Result<(), Box<dyn Error>> {
    font()?;
    let columns = columns.clamp(1, panels.len().max(1));
    let rows = panels.len().div_ceil(columns);
    let legend = panels.iter().map(legend_width).max().unwrap_or(0);
    let (width, height) = if panels.len() == 1 { (800, 520) } else { (520, 380) };
    let size = ((width + legend) * columns as u32, height * rows as u32 + CAPTION);
    let svg = stem.with_extension("svg");
    let png = stem.with_extension("png");
    {
        let root = SVGBackend::new(&svg, size).into_drawing_area();
        draw(&root, panels, rows, columns, caption)?;
        root.present()?;
    }
    {
        let root = BitMapBackend::new(&png, size).into_drawing_area();
        draw(&root, panels, rows, columns, caption)?;
        root.present()?;
    }
    Ok(())
}

/// Height of the caption line under the panels, in pixels.
const CAPTION: u32 = 30;

/// Width of a panel's legend column: room for its longest label.
fn legend_width(panel: &Panel) -> u32 {
    let longest = panel.series.iter().map(|s| pretty(&s.label).chars().count()).max().unwrap_or(0);
    if longest == 0 { 0 } else { (44 + 7 * longest as u32).min(280) }
}

/// The code's notation as it is printed: `theta_0` as θ₀, `alpha_1` as α₁,
/// `F^bio` as Fᵇⁱᵒ, `W_01` as W₀₁, `n_l` as nₗ, `Theta` as Θ, `lambda` as λ,
/// `sigma` as σ. A superscript or subscript with a character that has no
/// Unicode form is left as written.
pub fn pretty(text: &str) -> String {
    const SUP: [(char, char); 24] = [
        ('0', '⁰'),
        ('1', '¹'),
        ('2', '²'),
        ('3', '³'),
        ('4', '⁴'),
        ('5', '⁵'),
        ('6', '⁶'),
        ('7', '⁷'),
        ('8', '⁸'),
        ('9', '⁹'),
        ('a', 'ᵃ'),
        ('b', 'ᵇ'),
        ('e', 'ᵉ'),
        ('i', 'ⁱ'),
        ('j', 'ʲ'),
        ('l', 'ˡ'),
        ('o', 'ᵒ'),
        ('p', 'ᵖ'),
        ('O', 'ᴼ'),
        ('H', 'ᴴ'),
        ('r', 'ʳ'),
        ('s', 'ˢ'),
        ('t', 'ᵗ'),
        ('T', 'ᵀ'),
    ];
    const SUB: [(char, char); 12] = [
        ('0', '₀'),
        ('1', '₁'),
        ('2', '₂'),
        ('3', '₃'),
        ('4', '₄'),
        ('5', '₅'),
        ('6', '₆'),
        ('7', '₇'),
        ('8', '₈'),
        ('9', '₉'),
        ('l', 'ₗ'),
        ('r', 'ᵣ'),
    ];
    let words = [("theta", "θ"), ("Theta", "Θ"), ("alpha", "α"), ("lambda", "λ"), ("sigma", "σ")];
    let mut out = String::new();
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        let boundary = !out.chars().last().is_some_and(char::is_alphanumeric);
        if let Some(&(word, greek)) = words.iter().find(|(w, _)| boundary && rest.starts_with(w)) {
            let after = rest[word.len()..].chars().next();
            if !after.is_some_and(char::is_alphanumeric) {
                out.push_str(greek);
                rest = &rest[word.len()..];
                continue;
            }
        }
        let table: Option<&[(char, char)]> = match c {
            '^' => Some(&SUP),
            '_' if out.chars().last().is_some_and(char::is_alphanumeric) => Some(&SUB),
            _ => None,
        };
        if let Some(table) = table {
            let token: String = rest[1..].chars().take_while(char::is_ascii_alphanumeric).collect();
            let mapped: Option<String> =
                token.chars().map(|t| table.iter().find(|(k, _)| *k == t).map(|(_, v)| *v)).collect();
            if let Some(mapped) = mapped.filter(|m| !m.is_empty()) {
                out.push_str(&mapped);
                rest = &rest[1 + token.len()..];
                continue;
            }
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// Loads the plots' font once (see the module's doc); an error says where
/// it was looked for. `reproduce` calls it before any trial, so that a
/// missing font does not surface only after hours of meta-training.
pub fn font() -> Result<(), Box<dyn Error>> {
    static LOADED: OnceLock<Result<(), String>> = OnceLock::new();
    LOADED
        .get_or_init(|| {
            // A font the user names must be there: falling back would hide the mistake.
            if let Ok(chosen) = std::env::var("METAPLASTICITY_FONT")
                && let Err(e) = std::fs::read(&chosen)
            {
                return Err(format!("METAPLASTICITY_FONT={chosen}: cannot read it as a font file: {e}"));
            }
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

/// Ten colours that stay apart (Tableau 10), so that ten coefficient
/// curves can be told apart.
const PALETTE: [RGBColor; 12] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
    RGBColor(0, 0, 128),
    RGBColor(128, 0, 0),
];

/// The colour of each learner, the same in every figure.
const LEARNERS: [(&str, usize); 12] = [
    ("F^bio", 0),
    ("FA", 1),
    ("BP", 2),
    ("F^Oja", 3),
    ("DFA", 4),
    ("F^pool", 5),
    ("F^eHebb", 6),
    ("frSF", 7),
    ("F^0", 8),
    ("uSF", 9),
    ("brSF", 10),
    ("KP", 11),
];

/// A series' colour: its learner's if its label names one (a label such
/// as "F^pool (L1, robust)" counts as F^pool's), else its palette index,
/// else grey.
fn color(s: &Series) -> RGBColor {
    let learner = LEARNERS
        .iter()
        .find(|(name, _)| s.label.strip_prefix(name).is_some_and(|rest| rest.is_empty() || rest.starts_with(' ')));
    learner.map(|l| Some(l.1)).unwrap_or(s.color).map_or(RGBColor(128, 128, 128), |i| PALETTE[i % PALETTE.len()])
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    panels: &[Panel],
    rows: usize,
    columns: usize,
    caption: &str,
) -> Result<(), Box<dyn Error>>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let (grid, below) = root.split_vertically(root.dim_in_pixel().1 - CAPTION);
    for (area, panel) in grid.split_evenly((rows, columns)).iter().zip(panels) {
        draw_panel(area, panel)?;
    }
    below.draw(&Text::new(pretty(caption), (12, 6), ("sans-serif", 14)))?;
    Ok(())
}

fn draw_panel<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, panel: &Panel) -> Result<(), Box<dyn Error>>
where
    DB::ErrorType: 'static,
{
    let legend = legend_width(panel);
    let (data_area, legend_area) = area.split_horizontally(area.dim_in_pixel().0 - legend);
    let title = pretty(&panel.title);
    let finite = |v: f64| v.is_finite() && (!panel.log_y || v > 0.0);
    let xs = panel.series.iter().flat_map(|s| s.points.iter().map(|p| p.0)).filter(|v| v.is_finite());
    let (x0, x1) = bounds(xs).unwrap_or((0.0, 1.0));
    let (y0, y1) = panel.y_range.unwrap_or_else(|| {
        let ys = panel
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.1).chain(s.band.iter().flat_map(|b| [b.1, b.2])));
        let (lo, hi) = bounds(ys.filter(|&v| finite(v))).unwrap_or((0.1, 1.0));
        if panel.log_y {
            // `bounds` widens a single value by 0.5 either way: keep it positive.
            let lo = if lo > 0.0 { lo } else { hi / 10.0 };
            (lo / 1.2, hi * 1.2)
        } else {
            let pad = 0.05 * (hi - lo).max(1e-12);
            (lo - pad, hi + pad)
        }
    });
    let mut builder = ChartBuilder::on(&data_area);
    builder.caption(&title, ("sans-serif", 18)).margin(12).x_label_area_size(42).y_label_area_size(64);
    let x_ticks = decimals(x1 - x0);
    if panel.log_y {
        let chart = builder.build_cartesian_2d(x0..x1, (y0..y1).log_scale())?;
        draw_series(chart, panel, &x_ticks, &significant, y0)?;
    } else {
        let chart = builder.build_cartesian_2d(x0..x1, y0..y1)?;
        draw_series(chart, panel, &x_ticks, &decimals(y1 - y0), f64::NEG_INFINITY)?;
    }
    draw_legend(&legend_area, panel)
}

/// Tick labels with as many decimals as a tenth of `span` needs.
fn decimals(span: f64) -> impl Fn(&f64) -> String {
    let decimals = (-(span / 10.0).log10()).ceil().clamp(0.0, 8.0) as usize;
    // `+ 0.0` turns -0 into 0.
    move |v: &f64| format!("{:.decimals$}", v + 0.0)
}

/// Tick labels of a logarithmic axis: two significant digits.
fn significant(v: &f64) -> String {
    let decimals = (1.0 - v.abs().log10().floor()).clamp(0.0, 8.0) as usize;
    let text = format!("{v:.decimals$}");
    if text.contains('.') { text.trim_end_matches('0').trim_end_matches('.').to_string() } else { text }
}

/// The mesh and every series of `panel` on `chart`; on a logarithmic axis,
/// band edges below `floor` are drawn at it.
fn draw_series<DB, Y>(
    mut chart: ChartContext<'_, DB, Cartesian2d<plotters::coord::types::RangedCoordf64, Y>>,
    panel: &Panel,
    x_ticks: &dyn Fn(&f64) -> String,
    y_ticks: &dyn Fn(&f64) -> String,
    floor: f64,
) -> Result<(), Box<dyn Error>>
where
    DB: DrawingBackend,
    DB::ErrorType: 'static,
    Y: Ranged<ValueType = f64> + plotters::coord::ranged1d::ValueFormatter<f64>,
{
    let (x_label, y_label) = (pretty(&panel.x_label), pretty(&panel.y_label));
    chart
        .configure_mesh()
        .x_label_formatter(x_ticks)
        .y_label_formatter(y_ticks)
        .x_desc(&x_label)
        .y_desc(&y_label)
        .label_style(("sans-serif", 14))
        .axis_desc_style(("sans-serif", 16))
        .light_line_style(WHITE.mix(0.0))
        .y_labels(if panel.log_y { 12 } else { 10 })
        .draw()?;
    let shown = |y: f64| y.is_finite() && (!panel.log_y || y > 0.0);
    for s in &panel.series {
        let c = color(s);
        let kept = |b: &&(f64, f64, f64)| b.1.is_finite() && b.2.is_finite() && b.2 > floor;
        let band: Vec<(f64, f64)> = s
            .band
            .iter()
            .filter(kept)
            .map(|b| (b.0, b.1.max(floor)))
            .chain(s.band.iter().rev().filter(kept).map(|b| (b.0, b.2)))
            .collect();
        if band.len() > 2 {
            chart.draw_series(std::iter::once(Polygon::new(band, c.mix(0.2))))?;
        }
        let style = if s.dashed { c.stroke_width(1) } else { c.stroke_width(2) };
        // Split the line at missing values instead of joining across them.
        for seg in s.points.split(|p| !(p.0.is_finite() && shown(p.1))).filter(|seg| !seg.is_empty()) {
            let points = seg.iter().copied();
            if s.dashed {
                chart.draw_series(DashedLineSeries::new(points, 6, 4, style))?;
            } else {
                chart.draw_series(LineSeries::new(points, style))?;
            }
        }
    }
    Ok(())
}

/// The labelled series of `panel`, one per row, in `area` (right of the data).
fn draw_legend<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, panel: &Panel) -> Result<(), Box<dyn Error>>
where
    DB::ErrorType: 'static,
{
    for (k, s) in panel.series.iter().filter(|s| !s.label.is_empty()).enumerate() {
        let (c, y) = (color(s), 44 + 20 * k as i32);
        if s.dashed {
            for x in [0, 9, 18] {
                area.draw(&PathElement::new(vec![(x, y), (x + 5, y)], c.stroke_width(2)))?;
            }
        } else {
            area.draw(&PathElement::new(vec![(0, y), (24, y)], c.stroke_width(2)))?;
        }
        area.draw(&Text::new(pretty(&s.label), (30, y - 8), ("sans-serif", 14)))?;
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

#[cfg(test)]
mod tests {
    use super::pretty;

    #[test]
    fn the_notation_is_drawn_with_greek_letters_subscripts_and_superscripts() {
        assert_eq!(pretty("theta_0"), "θ₀");
        assert_eq!(pretty("alpha_12 of F^bio"), "α₁₂ of Fᵇⁱᵒ");
        assert_eq!(pretty("F^pool (L1, robust)"), "Fᵖᵒᵒˡ (L1, robust)");
        assert_eq!(pretty("F^Oja, F^eHebb on W_01"), "Fᴼʲᵃ, Fᵉᴴᵉᵇᵇ on W₀₁");
        assert_eq!(pretty("Theta, lambda = 1, sigma_l^2 B^T, n_l"), "Θ, λ = 1, σₗ² Bᵀ, nₗ");
        // Words that merely contain a Greek name, and marks with no Unicode form, stay as written.
        assert_eq!(pretty("thetas, lambdas, F^q, x_y"), "thetas, lambdas, F^q, x_y");
        assert_eq!(pretty("p_value"), "p_value");
    }
}
