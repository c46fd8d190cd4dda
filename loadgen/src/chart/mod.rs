//! Charts as SVG and PNG, with no dependency on system fonts.
//!
//! plotters renders text in PNGs through `ab_glyph` from a font registered
//! at run time; the font is DejaVu Sans compiled into the binary (from the
//! `dejavu` crate), so a fresh machine without any font packages draws the
//! same labels. SVGs name the family and let the viewer pick its own sans.
//!
//! A [`Figure`] is a grid of panels; each panel kind ([`Bars`], [`Spread`],
//! [`Lines`]) is one small file that draws into whatever area it is given,
//! so one chart can stand alone or sit side by side with others.

mod bars;
mod lines;
mod spread;

use std::path::{Path, PathBuf};
use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;

pub use bars::Bars;
pub use lines::{Corner, Lines, Marker, Series};
pub use spread::Spread;

/// The font family every chart uses.
pub const FONT: &str = "sans-serif";

/// One panel of a figure.
#[derive(Debug, Clone)]
pub enum Panel {
    Bars(Bars),
    Spread(Spread),
    Lines(Lines),
}

impl Panel {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), String> {
        match self {
            Panel::Bars(b) => b.draw(area),
            Panel::Spread(s) => s.draw(area),
            Panel::Lines(l) => l.draw(area),
        }
    }
}

/// Panels in a grid of `cols` columns, filled row by row.
#[derive(Debug, Clone)]
pub struct Figure {
    pub title: Option<String>,
    pub panels: Vec<Panel>,
    pub cols: usize,
    pub size: (u32, u32),
}

impl Figure {
    /// One panel, 960 x 540.
    pub fn single(panel: Panel) -> Figure {
        Figure {
            title: None,
            panels: vec![panel],
            cols: 1,
            size: (960, 540),
        }
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        root.fill(&WHITE).map_err(err)?;
        let area = match &self.title {
            Some(t) => root.titled(t, (FONT, 26).into_font()).map_err(err)?,
            None => root.clone(),
        };
        let cols = self.cols.max(1);
        let rows = self.panels.len().div_ceil(cols).max(1);
        for (panel, cell) in self.panels.iter().zip(area.split_evenly((rows, cols))) {
            panel.draw(&cell)?;
        }
        root.present().map_err(err)
    }
}

/// The files a figure was written to.
#[derive(Debug, Clone)]
pub struct Written {
    pub svg: PathBuf,
    pub png: PathBuf,
}

/// Writes `<dir>/<stem>.svg` and `<dir>/<stem>.png`.
pub fn save(figure: &Figure, dir: &Path, stem: &str) -> Result<Written, String> {
    register_font()?;
    std::fs::create_dir_all(dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
    let svg = dir.join(format!("{stem}.svg"));
    let png = dir.join(format!("{stem}.png"));
    {
        let root = SVGBackend::new(&svg, figure.size).into_drawing_area();
        figure
            .draw(&root)
            .map_err(|e| format!("{}: {e}", svg.display()))?;
    }
    {
        let root = BitMapBackend::new(&png, figure.size).into_drawing_area();
        figure
            .draw(&root)
            .map_err(|e| format!("{}: {e}", png.display()))?;
    }
    Ok(Written { svg, png })
}

fn register_font() -> Result<(), String> {
    static ONCE: Once = Once::new();
    let mut result = Ok(());
    ONCE.call_once(|| {
        let fonts = [
            (FontStyle::Normal, dejavu::sans::regular()),
            (FontStyle::Bold, dejavu::sans::bold()),
            (FontStyle::Italic, dejavu::sans::oblique()),
            (FontStyle::Oblique, dejavu::sans::oblique()),
        ];
        for (style, bytes) in fonts {
            if plotters::style::register_font(FONT, style, bytes).is_err() {
                result = Err("the bundled DejaVu Sans font could not be loaded".to_string());
            }
        }
    });
    result
}

/// A colour per series index, distinct for the first ten.
pub fn color(i: usize) -> RGBColor {
    const PALETTE: [RGBColor; 10] = [
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
    ];
    PALETTE[i % PALETTE.len()]
}

pub(crate) fn err<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_and_svg_have_text_without_system_fonts() {
        let dir = std::env::temp_dir().join(format!("ringlb-load-chart-{}", std::process::id()));
        let fig = Figure::single(Panel::Bars(Bars {
            title: "requests per replica".into(),
            x_label: "replica".into(),
            y_label: "requests".into(),
            bars: vec![("Server1".into(), 8437.0), ("Server2".into(), 469.0)],
            colors: Vec::new(),
            y_max: None,
            reference: Some((5000.0, "mean".into())),
            percent: false,
        }));
        let w = save(&fig, &dir, "t").expect("rendered");
        let svg = std::fs::read_to_string(&w.svg).expect("svg");
        assert!(svg.contains("Server1") && svg.contains("requests per replica"));
        let png = std::fs::read(&w.png).expect("png");
        assert_eq!(&png[1..4], b"PNG");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
