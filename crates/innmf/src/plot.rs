//! Figures as PNG or SVG (chosen by the file extension), drawn with plotters.
//!
//! The PNG backend needs a font; DejaVu Sans is embedded (Bitstream Vera licence, see
//! `assets/DejaVuSans-LICENSE.txt`), so no system fonts are required. Files are written
//! atomically: drawn to a temporary file, then renamed.

use crate::error::{Error, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;
use std::sync::Once;

static FONT: Once = Once::new();

fn register_font() {
    FONT.call_once(|| {
        let bytes: &'static [u8] = include_bytes!("../assets/DejaVuSans.ttf");
        // registration only fails for malformed fonts; the embedded one is fixed
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, bytes);
    });
}

/// One line of a line plot.
#[derive(Debug, Clone)]
pub struct Series {
    /// Legend label.
    pub name: String,
    /// x values.
    pub x: Vec<f64>,
    /// y values.
    pub y: Vec<f64>,
}

fn palette(i: usize) -> RGBColor {
    const C: [RGBColor; 8] = [
        RGBColor(31, 119, 180),
        RGBColor(255, 127, 14),
        RGBColor(44, 160, 44),
        RGBColor(214, 39, 40),
        RGBColor(148, 103, 189),
        RGBColor(140, 86, 75),
        RGBColor(227, 119, 194),
        RGBColor(127, 127, 127),
    ];
    C[i % C.len()]
}

/// Viridis-like colour for v in [0, 1].
fn colormap(v: f64) -> RGBColor {
    const STOPS: [(f64, f64, f64); 5] = [
        (68.0, 1.0, 84.0),
        (59.0, 82.0, 139.0),
        (33.0, 145.0, 140.0),
        (94.0, 201.0, 98.0),
        (253.0, 231.0, 37.0),
    ];
    let v = v.clamp(0.0, 1.0) * 4.0;
    let i = (v.floor() as usize).min(3);
    let w = v - i as f64;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    RGBColor(
        (a.0 + w * (b.0 - a.0)) as u8,
        (a.1 + w * (b.1 - a.1)) as u8,
        (a.2 + w * (b.2 - a.2)) as u8,
    )
}

fn err<E: std::fmt::Debug>(path: &Path) -> impl Fn(E) -> Error + '_ {
    move |e| Error::format(path, format!("could not draw the figure: {e:?}"))
}

fn range(values: impl Iterator<Item = f64>, log: bool) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.filter(|v| v.is_finite() && (!log || *v > 0.0)) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return (
            if log { 1.0 } else { 0.0 },
            1.0 + if log { 9.0 } else { 0.0 },
        );
    }
    if hi <= lo {
        hi = if log { lo * 10.0 } else { lo + 1.0 };
    }
    (lo, hi)
}

/// Draws the figure with `draw` on a PNG or SVG backend, atomically.
fn render(
    path: &Path,
    size: (u32, u32),
    draw: impl Fn(DrawingArea<BitMapBackend, Shift>) -> Result<()>,
    draw_svg: impl Fn(DrawingArea<SVGBackend, Shift>) -> Result<()>,
) -> Result<()> {
    register_font();
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp.{ext}",
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        std::process::id()
    ));
    match ext.as_str() {
        "png" => {
            let root = BitMapBackend::new(&tmp, size).into_drawing_area();
            root.fill(&WHITE).map_err(err(path))?;
            draw(root.clone())?;
            root.present().map_err(err(path))?;
        }
        "svg" => {
            let root = SVGBackend::new(&tmp, size).into_drawing_area();
            root.fill(&WHITE).map_err(err(path))?;
            draw_svg(root.clone())?;
            root.present().map_err(err(path))?;
        }
        _ => return Err(Error::format(path, "figures are written as .png or .svg")),
    }
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}

macro_rules! both_backends {
    ($path:expr, $size:expr, $f:ident, $($arg:expr),*) => {
        render($path, $size, |root| $f(root, $path, $($arg),*), |root| $f(root, $path, $($arg),*))
    };
}

/// A line plot of several series (`log_y` for a logarithmic y axis).
pub fn lines(
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
    log_y: bool,
) -> Result<()> {
    both_backends!(
        path,
        (900, 500),
        draw_lines,
        title,
        x_label,
        y_label,
        series,
        log_y
    )
}

fn draw_lines<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
    log_y: bool,
) -> Result<()> {
    let (x0, x1) = range(series.iter().flat_map(|s| s.x.iter().copied()), false);
    let (y0, y1) = range(series.iter().flat_map(|s| s.y.iter().copied()), log_y);
    let mut b = ChartBuilder::on(&root);
    b.caption(title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70);
    macro_rules! finish {
        ($chart:expr) => {{
            let mut chart = $chart;
            chart
                .configure_mesh()
                .x_desc(x_label)
                .y_desc(y_label)
                .label_style(("sans-serif", 14))
                .draw()
                .map_err(err(path))?;
            for (i, s) in series.iter().enumerate() {
                let color = palette(i);
                chart
                    .draw_series(LineSeries::new(
                        s.x.iter()
                            .zip(&s.y)
                            .filter(|(_, y)| !log_y || **y > 0.0)
                            .map(|(&x, &y)| (x, y)),
                        color.stroke_width(2),
                    ))
                    .map_err(err(path))?
                    .label(s.name.clone())
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
                    });
            }
            if series.len() > 1 {
                chart
                    .configure_series_labels()
                    .background_style(WHITE.mix(0.8))
                    .border_style(BLACK)
                    .label_font(("sans-serif", 14))
                    .draw()
                    .map_err(err(path))?;
            }
        }};
    }
    if log_y {
        finish!(b
            .build_cartesian_2d(x0..x1, (y0..y1).log_scale())
            .map_err(err(path))?);
    } else {
        let pad = 0.05 * (y1 - y0);
        finish!(b
            .build_cartesian_2d(x0..x1, (y0 - pad)..(y1 + pad))
            .map_err(err(path))?);
    }
    Ok(())
}

/// A scatter plot of a point set: time on x, frequency on y (log when `log_f`), colour =
/// magnitude (scaled to its 1st–99th percentile range, on a dB scale when `db`).
#[allow(clippy::too_many_arguments)]
pub fn points(
    path: &Path,
    title: &str,
    t: &[f64],
    f: &[f64],
    m: &[f64],
    log_f: bool,
    db: bool,
) -> Result<()> {
    both_backends!(path, (1000, 560), draw_points, title, t, f, m, log_f, db)
}

#[allow(clippy::too_many_arguments)]
fn draw_points<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    path: &Path,
    title: &str,
    t: &[f64],
    f: &[f64],
    m: &[f64],
    log_f: bool,
    db: bool,
) -> Result<()> {
    let c: Vec<f64> = m
        .iter()
        .map(|&v| if db { 20.0 * v.max(1e-12).log10() } else { v })
        .collect();
    let mut sorted = c.clone();
    sorted.sort_by(|a, b| a.total_cmp(b));
    let lo = sorted[(sorted.len() as f64 * 0.01) as usize];
    let hi = sorted[((sorted.len() as f64 * 0.99) as usize).min(sorted.len() - 1)];
    let span = if hi > lo { hi - lo } else { 1.0 };
    let (t0, t1) = range(t.iter().copied(), false);
    let (f0, f1) = range(f.iter().copied(), log_f);
    // draw quiet points first so loud ones stay visible
    let mut order: Vec<usize> = (0..t.len()).collect();
    order.sort_by(|&a, &b| c[a].total_cmp(&c[b]));
    let mut b = ChartBuilder::on(&root);
    b.caption(title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70);
    macro_rules! finish {
        ($chart:expr) => {{
            let mut chart = $chart;
            chart
                .configure_mesh()
                .x_desc("time (s)")
                .y_desc("frequency (Hz)")
                .label_style(("sans-serif", 14))
                .draw()
                .map_err(err(path))?;
            chart
                .draw_series(order.iter().filter(|&&i| !log_f || f[i] > 0.0).map(|&i| {
                    let col = colormap((c[i] - lo) / span);
                    Circle::new((t[i], f[i]), 1, col.filled())
                }))
                .map_err(err(path))?;
        }};
    }
    if log_f {
        finish!(b
            .build_cartesian_2d(t0..t1, (f0..f1).log_scale())
            .map_err(err(path))?);
    } else {
        finish!(b.build_cartesian_2d(t0..t1, f0..f1).map_err(err(path))?);
    }
    Ok(())
}

/// One group of a box plot: a label and, per category, its values.
#[derive(Debug, Clone)]
pub struct BoxGroup {
    /// Legend label (e.g. a method).
    pub name: String,
    /// `values[i]`: the samples of category `i` (non-finite values are skipped).
    pub values: Vec<Vec<f64>>,
}

/// Quartiles `(min, q1, median, q3, max)` with linear interpolation (numpy's default); `None`
/// for no finite value.
pub fn quartiles(values: &[f64]) -> Option<(f64, f64, f64, f64, f64)> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let q = |p: f64| crate::stats::quantile_sorted(&v, p);
    Some((v[0], q(0.25), q(0.5), q(0.75), v[v.len() - 1]))
}

/// Grouped box plots: one slot per category (x axis, labelled `categories`), one box per group
/// side by side in each slot (box = quartiles, whiskers = min and max, line = median, dots =
/// the samples).
pub fn boxplots(
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    categories: &[String],
    groups: &[BoxGroup],
) -> Result<()> {
    both_backends!(
        path,
        (900, 520),
        draw_boxplots,
        title,
        x_label,
        y_label,
        categories,
        groups
    )
}

fn draw_boxplots<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    categories: &[String],
    groups: &[BoxGroup],
) -> Result<()> {
    let (y0, y1) = range(
        groups
            .iter()
            .flat_map(|g| g.values.iter().flat_map(|v| v.iter().copied())),
        false,
    );
    let pad = 0.06 * (y1 - y0);
    let nc = categories.len().max(1);
    let ng = groups.len().max(1);
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(-0.5..(nc as f64 - 0.5), (y0 - pad)..(y1 + pad))
        .map_err(err(path))?;
    let cats = categories.to_vec();
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(nc)
        .x_label_formatter(&|x| {
            let i = x.round();
            if (x - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < cats.len() {
                cats[i as usize].clone()
            } else {
                String::new()
            }
        })
        .x_desc(x_label)
        .y_desc(y_label)
        .label_style(("sans-serif", 14))
        .draw()
        .map_err(err(path))?;
    let slot = 0.8 / ng as f64;
    for (gi, g) in groups.iter().enumerate() {
        let color = palette(gi);
        let mut first = true;
        for (ci, vals) in g.values.iter().enumerate().take(nc) {
            let Some((lo, q1, med, q3, hi)) = quartiles(vals) else {
                continue;
            };
            let xc = ci as f64 - 0.4 + slot * (gi as f64 + 0.5);
            let (xa, xb) = (xc - 0.38 * slot, xc + 0.38 * slot);
            let boxes = chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(xa, q1), (xb, q3)],
                    color.mix(0.35).filled(),
                )))
                .map_err(err(path))?;
            if first {
                boxes.label(g.name.clone()).legend(move |(x, y)| {
                    Rectangle::new([(x, y - 6), (x + 16, y + 6)], color.mix(0.6).filled())
                });
                first = false;
            }
            let stroke = color.stroke_width(2);
            let lines = vec![
                vec![(xa, q1), (xb, q1), (xb, q3), (xa, q3), (xa, q1)],
                vec![(xa, med), (xb, med)],
                vec![(xc, q3), (xc, hi)],
                vec![(xc, q1), (xc, lo)],
                vec![(xc - 0.2 * slot, hi), (xc + 0.2 * slot, hi)],
                vec![(xc - 0.2 * slot, lo), (xc + 0.2 * slot, lo)],
            ];
            chart
                .draw_series(lines.into_iter().map(|l| PathElement::new(l, stroke)))
                .map_err(err(path))?;
            chart
                .draw_series(
                    vals.iter()
                        .filter(|v| v.is_finite())
                        .map(|&v| Circle::new((xc, v), 2, BLACK.mix(0.5).filled())),
                )
                .map_err(err(path))?;
        }
    }
    if groups.len() > 1 {
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .label_font(("sans-serif", 14))
            .draw()
            .map_err(err(path))?;
    }
    Ok(())
}

/// A heat map of `values[row][col]` (NaN cells left white) with each cell's value written in
/// it (`format` of 3 significant digits); colour on the viridis-like scale from the smallest to
/// the largest finite value.
pub fn heatmap(
    path: &Path,
    title: &str,
    row_desc: &str,
    col_desc: &str,
    rows: &[String],
    cols: &[String],
    values: &[Vec<f64>],
) -> Result<()> {
    let size = (
        (220 + 95 * cols.len()).min(2400) as u32,
        (160 + 55 * rows.len()).min(2000) as u32,
    );
    both_backends!(
        path,
        size,
        draw_heatmap,
        title,
        row_desc,
        col_desc,
        rows,
        cols,
        values
    )
}

#[allow(clippy::too_many_arguments)]
fn draw_heatmap<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    path: &Path,
    title: &str,
    row_desc: &str,
    col_desc: &str,
    rows: &[String],
    cols: &[String],
    values: &[Vec<f64>],
) -> Result<()> {
    let (lo, hi) = range(values.iter().flat_map(|r| r.iter().copied()), false);
    let (nr, nc) = (rows.len().max(1), cols.len().max(1));
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(50)
        .y_label_area_size(110)
        .build_cartesian_2d(0.0..nc as f64, 0.0..nr as f64)
        .map_err(err(path))?;
    let (rl, cl) = (rows.to_vec(), cols.to_vec());
    let label = |names: &[String], x: f64| {
        let i = (x - 0.5).round();
        if (x - 0.5 - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < names.len() {
            names[i as usize].clone()
        } else {
            String::new()
        }
    };
    chart
        .configure_mesh()
        .disable_mesh()
        .x_labels(2 * nc + 1)
        .y_labels(2 * nr + 1)
        .x_label_formatter(&|x| label(&cl, *x))
        .y_label_formatter(&|y| label(&rl, nr as f64 - *y))
        .x_desc(col_desc)
        .y_desc(row_desc)
        .label_style(("sans-serif", 13))
        .draw()
        .map_err(err(path))?;
    let span = if hi > lo { hi - lo } else { 1.0 };
    for (r, row) in values.iter().enumerate().take(nr) {
        for (c, &v) in row.iter().enumerate().take(nc) {
            let y = (nr - 1 - r) as f64;
            if v.is_finite() {
                let t = (v - lo) / span;
                chart
                    .draw_series(std::iter::once(Rectangle::new(
                        [(c as f64, y), (c as f64 + 1.0, y + 1.0)],
                        colormap(t).filled(),
                    )))
                    .map_err(err(path))?;
                let text_color = if t > 0.6 { BLACK } else { WHITE };
                chart
                    .draw_series(std::iter::once(Text::new(
                        format!("{v:.3}"),
                        (c as f64 + 0.2, y + 0.6),
                        ("sans-serif", 13).into_font().color(&text_color),
                    )))
                    .map_err(err(path))?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_png_and_svg_and_rejects_other_extensions() {
        let dir = tempfile::tempdir().unwrap();
        let s = vec![Series {
            name: "a".into(),
            x: vec![0.0, 1.0, 2.0],
            y: vec![1.0, 0.5, 2.0],
        }];
        for name in ["a.png", "a.svg"] {
            let p = dir.path().join(name);
            lines(&p, "t", "x", "y", &s, true).unwrap();
            assert!(std::fs::metadata(&p).unwrap().len() > 100);
        }
        let p = dir.path().join("s.png");
        points(
            &p,
            "pts",
            &[0.0, 1.0, 0.5],
            &[10.0, 100.0, 1000.0],
            &[1.0, 0.1, 0.5],
            true,
            true,
        )
        .unwrap();
        let bytes = std::fs::read(&p).unwrap();
        assert_eq!(&bytes[1..4], b"PNG");
        assert!(lines(&dir.path().join("a.bmpx"), "t", "x", "y", &s, false).is_err());
    }

    #[test]
    fn quartiles_match_numpy_linear_interpolation() {
        // numpy.percentile([3, 1, 4, 1, 5, 9, 2], [0, 25, 50, 75, 100]) = 1, 1.5, 3, 4.5, 9
        let q = quartiles(&[3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, f64::NAN]).unwrap();
        assert_eq!(q, (1.0, 1.5, 3.0, 4.5, 9.0));
        assert!(quartiles(&[f64::NAN]).is_none());
    }

    #[test]
    fn boxplots_and_heatmaps_are_drawn() {
        let dir = tempfile::tempdir().unwrap();
        let cats: Vec<String> = ["1000", "2000"].iter().map(|s| s.to_string()).collect();
        let groups = vec![
            BoxGroup {
                name: "a".into(),
                values: vec![vec![1.0, 2.0, 3.0], vec![2.0, 2.5]],
            },
            BoxGroup {
                name: "b".into(),
                values: vec![vec![0.5], vec![]],
            },
        ];
        for name in ["b.png", "b.svg"] {
            let p = dir.path().join(name);
            boxplots(&p, "t", "window", "SDR (dB)", &cats, &groups).unwrap();
            assert!(std::fs::metadata(&p).unwrap().len() > 100);
        }
        let p = dir.path().join("h.svg");
        let v = vec![vec![1.0, 2.0], vec![f64::NAN, 0.5]];
        heatmap(&p, "t", "from", "to", &cats, &cats, &v).unwrap();
        let svg = std::fs::read_to_string(&p).unwrap();
        assert!(
            svg.contains("2.000") && svg.contains("0.500"),
            "cell values are written"
        );
    }
}
