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
    use std::collections::BTreeSet;
    use std::ops::Range;

    use super::*;

    /// A decoded PNG: width and 8-bit RGB rows.
    struct Image {
        width: usize,
        rgb: Vec<u8>,
    }

    fn decode(path: &Path) -> Image {
        let file = std::fs::File::open(path).expect("open the PNG");
        let mut reader = png::Decoder::new(file).read_info().expect("a PNG");
        let mut rgb = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut rgb).expect("PNG pixels");
        assert_eq!(
            (info.color_type, info.bit_depth),
            (png::ColorType::Rgb, png::BitDepth::Eight),
            "plotters writes 8-bit RGB"
        );
        assert_eq!((info.width, info.height), (960, 540));
        rgb.truncate(info.buffer_size());
        Image {
            width: info.width as usize,
            rgb,
        }
    }

    /// Dark (text-black, anti-aliased) pixels in `rows` x `cols`: how many,
    /// and the leftmost and rightmost column holding one.
    fn ink(img: &Image, rows: Range<usize>, cols: Range<usize>) -> (usize, usize, usize) {
        let (mut n, mut left, mut right) = (0, usize::MAX, 0);
        for y in rows {
            for x in cols.clone() {
                let i = 3 * (y * img.width + x);
                if img.rgb[i..i + 3].iter().all(|c| *c < 128) {
                    n += 1;
                    left = left.min(x);
                    right = right.max(x);
                }
            }
        }
        (n, left, right)
    }

    /// The text of every `<text>` element in the chart's font family.
    fn svg_texts(svg: &str) -> BTreeSet<String> {
        svg.split("<text ")
            .skip(1)
            .filter_map(|el| {
                let (attrs, rest) = el.split_once('>')?;
                let family = format!("font-family=\"{FONT}\"");
                attrs.contains(&family).then_some(())?;
                Some(rest.split_once("</text>")?.0.trim().to_string())
            })
            .collect()
    }

    fn bars(title: &str, axes: [&str; 2], names: [&str; 2], mean: &str) -> Figure {
        Figure::single(Panel::Bars(Bars {
            title: title.into(),
            x_label: axes[0].into(),
            y_label: axes[1].into(),
            bars: vec![(names[0].into(), 8437.0), (names[1].into(), 469.0)],
            colors: Vec::new(),
            y_max: None,
            reference: Some((5000.0, mean.into())),
            percent: false,
        }))
    }

    /// The bundled font draws every label: the SVG carries each as a text
    /// element, and the PNG has ink exactly where the title and the replica
    /// names go, compared with the same chart drawn with those texts empty.
    #[test]
    fn png_and_svg_have_text_without_system_fonts() {
        let dir = std::env::temp_dir().join(format!("ringlb-load-chart-{}", std::process::id()));
        let fig = bars(
            "requests per replica",
            ["replica", "requests"],
            ["Server1", "Server2"],
            "mean",
        );
        let w = save(&fig, &dir, "t").expect("rendered");
        let blank = save(&bars("", ["", ""], ["", ""], ""), &dir, "blank").expect("rendered");
        let svg = std::fs::read_to_string(&w.svg).expect("svg");
        let png = decode(&w.png);
        let control = decode(&blank.png);
        let _ = std::fs::remove_dir_all(&dir);

        let texts = svg_texts(&svg);
        for label in [
            "requests per replica",
            "replica",
            "requests",
            "Server1",
            "Server2",
            "8437",
            "469",
            "mean",
        ] {
            assert!(texts.contains(label), "no <text> {label:?} in {texts:?}");
        }

        // 960 x 540: the title sits in the band above the plot (which
        // starts at y = 38), centred; the replica names and the x-axis
        // description below the x axis (y = 488, ticks to 493), the names
        // centred under their bars (x = 298 and 730).
        let title = ink(&png, 0..36, 0..960);
        assert!(title.0 >= 300, "title band nearly blank: {title:?}");
        assert!(
            title.2 - title.1 >= 120 && (title.1 + title.2).abs_diff(960) <= 20,
            "title ink not a centred line of text: {title:?}"
        );
        let below = ink(&png, 494..540, 0..960);
        assert!(below.0 >= 200, "x labels nearly blank: {below:?}");
        for (name, x) in [("Server1", 298), ("Server2", 730)] {
            let under = ink(&png, 494..510, x - 50..x + 50);
            assert!(under.0 >= 50, "{name} not drawn under its bar: {under:?}");
        }
        // The same places without the texts hold no ink at all, so what
        // was counted above is text.
        assert_eq!(ink(&control, 0..36, 0..960).0, 0, "control title band");
        assert_eq!(ink(&control, 494..540, 0..960).0, 0, "control x labels");
    }
}
