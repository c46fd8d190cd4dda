//! Lines over a numeric x axis: a timeline of requests per second per
//! replica, or an imbalance ratio against N, with marker lines for events
//! (a kill, a replacement) or targets (the ideal, a bound).

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{color, err, FONT};

/// One named line.
#[derive(Debug, Clone)]
pub struct Series {
    pub name: String,
    pub color: usize,
    pub points: Vec<(f64, f64)>,
}

/// A vertical (`at` on x) or horizontal (`at` on y) reference line.
#[derive(Debug, Clone)]
pub struct Marker {
    pub label: String,
    pub at: f64,
    pub vertical: bool,
    pub color: RGBColor,
}

#[derive(Debug, Clone)]
pub struct Lines {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub series: Vec<Series>,
    pub markers: Vec<Marker>,
    /// Draw a dot at every point (for few points, e.g. N = 2..6).
    pub dots: bool,
    /// Decimals on the y axis labels.
    pub y_decimals: usize,
    /// Decimals on the x axis labels.
    pub x_decimals: usize,
    /// Force the y axis to start at 0 (else it fits the data).
    pub y_from_zero: bool,
    /// Where the legend goes (pick a corner the data leaves empty).
    pub legend: Corner,
}

/// A corner of the plotting area.
#[derive(Debug, Clone, Copy)]
pub enum Corner {
    UpperLeft,
    LowerRight,
}

impl Lines {
    pub fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let all = self.series.iter().flat_map(|s| s.points.iter());
        let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        for (x, y) in all {
            x0 = x0.min(*x);
            x1 = x1.max(*x);
            y0 = y0.min(*y);
            y1 = y1.max(*y);
        }
        for m in &self.markers {
            if m.vertical {
                x0 = x0.min(m.at);
                x1 = x1.max(m.at);
            } else {
                y0 = y0.min(m.at);
                y1 = y1.max(m.at);
            }
        }
        if x0 > x1 {
            (x0, x1, y0, y1) = (0.0, 1.0, 0.0, 1.0);
        }
        if self.y_from_zero {
            y0 = 0.0;
        }
        let pad_y = ((y1 - y0) * 0.08).max(1e-6);
        let pad_x = if self.dots { 0.3 } else { 0.0 };
        let (x0, x1) = (x0 - pad_x, (x1 + pad_x).max(x0 + 1e-6));
        let (y0, y1) = (if self.y_from_zero { 0.0 } else { y0 - pad_y }, y1 + pad_y);

        let mut chart = ChartBuilder::on(area)
            .caption(&self.title, (FONT, 20))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(err)?;
        let (xd, yd) = (self.x_decimals, self.y_decimals);
        let x_fmt = |x: &f64| format!("{x:.xd$}");
        let y_fmt = |y: &f64| format!("{y:.yd$}");
        let mut mesh = chart.configure_mesh();
        mesh.light_line_style(WHITE)
            .x_desc(&self.x_label)
            .y_desc(&self.y_label)
            .x_label_formatter(&x_fmt)
            .y_label_formatter(&y_fmt)
            .label_style((FONT, 14))
            .axis_desc_style((FONT, 15));
        if self.dots {
            let n = self.series.first().map_or(2, |s| s.points.len());
            mesh.x_labels(n.max(2));
        }
        mesh.draw().map_err(err)?;

        for s in &self.series {
            let c = color(s.color);
            chart
                .draw_series(LineSeries::new(s.points.iter().copied(), c.stroke_width(2)))
                .map_err(err)?
                .label(s.name.clone())
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], c.stroke_width(2)));
            if self.dots {
                chart
                    .draw_series(s.points.iter().map(|p| Circle::new(*p, 4, c.filled())))
                    .map_err(err)?;
            }
        }
        for m in &self.markers {
            let c = m.color;
            let ends = if m.vertical {
                [(m.at, y0), (m.at, y1)]
            } else {
                [(x0, m.at), (x1, m.at)]
            };
            chart
                .draw_series(DashedLineSeries::new(ends, 8, 5, c.stroke_width(2)))
                .map_err(err)?
                .label(m.label.clone())
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], c.stroke_width(2)));
        }
        chart
            .configure_series_labels()
            .label_font((FONT, 14))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .position(match self.legend {
                Corner::UpperLeft => SeriesLabelPosition::UpperLeft,
                Corner::LowerRight => SeriesLabelPosition::LowerRight,
            })
            .draw()
            .map_err(err)
    }
}
