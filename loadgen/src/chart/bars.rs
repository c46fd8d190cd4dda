//! A bar chart of one value per category (requests per replica, shares of
//! moved keys), each bar labelled with its value.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{color, err, FONT};

#[derive(Debug, Clone)]
pub struct Bars {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub bars: Vec<(String, f64)>,
    /// Colour index per bar; the bar's position when empty.
    pub colors: Vec<usize>,
    /// Top of the y axis; 110% of the tallest bar when `None`.
    pub y_max: Option<f64>,
    /// A horizontal reference line (e.g. the mean) and its legend text.
    pub reference: Option<(f64, String)>,
    /// Values are fractions, shown as percentages.
    pub percent: bool,
}

impl Bars {
    pub fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let n = self.bars.len().max(1) as i32;
        let tallest = self.bars.iter().map(|b| b.1).fold(0.0, f64::max);
        let y_max = self
            .y_max
            .unwrap_or(tallest * 1.1)
            .max(tallest * 1.05)
            .max(1e-9);
        let names: Vec<String> = self.bars.iter().map(|b| b.0.clone()).collect();
        let mut chart = ChartBuilder::on(area)
            .caption(&self.title, (FONT, 20))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d((0..n - 1).into_segmented(), 0.0..y_max)
            .map_err(err)?;
        let label = |v: &SegmentValue<i32>| match v {
            SegmentValue::CenterOf(i) => names.get(*i as usize).cloned().unwrap_or_default(),
            _ => String::new(),
        };
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(WHITE)
            .x_desc(&self.x_label)
            .y_desc(&self.y_label)
            .x_label_formatter(&label)
            .y_label_formatter(&|v| self.show(*v))
            .label_style((FONT, 14))
            .axis_desc_style((FONT, 15))
            .draw()
            .map_err(err)?;
        let mut rects = Vec::new();
        let mut texts = Vec::new();
        for (i, (_, v)) in self.bars.iter().enumerate() {
            let c = color(self.colors.get(i).copied().unwrap_or(i));
            let x = i as i32;
            let mut r = Rectangle::new(
                [
                    (SegmentValue::Exact(x), 0.0),
                    (SegmentValue::Exact(x + 1), *v),
                ],
                c.filled(),
            );
            r.set_margin(0, 0, 12, 12);
            rects.push(r);
            texts.push(Text::new(
                self.show(*v),
                (SegmentValue::CenterOf(x), *v + y_max * 0.015),
                (FONT, 14)
                    .into_font()
                    .color(&BLACK)
                    .pos(plotters::style::text_anchor::Pos::new(
                        plotters::style::text_anchor::HPos::Center,
                        plotters::style::text_anchor::VPos::Bottom,
                    )),
            ));
        }
        chart.draw_series(rects).map_err(err)?;
        chart.draw_series(texts).map_err(err)?;
        if let Some((y, text)) = &self.reference {
            chart
                .draw_series(LineSeries::new(
                    [(SegmentValue::Exact(0), *y), (SegmentValue::Last, *y)],
                    BLACK.stroke_width(2),
                ))
                .map_err(err)?
                .label(text.clone())
                .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], BLACK.stroke_width(2)));
            chart
                .configure_series_labels()
                .label_font((FONT, 14))
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .position(SeriesLabelPosition::UpperRight)
                .draw()
                .map_err(err)?;
        }
        Ok(())
    }
}

impl Bars {
    /// Percentages with one decimal, integers as integers, else 3 decimals.
    fn show(&self, v: f64) -> String {
        if self.percent {
            format!("{:.1}%", v * 100.0)
        } else if v.fract() == 0.0 {
            format!("{v:.0}")
        } else {
            format!("{v:.3}")
        }
    }
}
