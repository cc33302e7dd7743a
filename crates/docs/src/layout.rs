//! A small top-to-bottom layout on A5 pages: wrapped paragraphs, centred headings, label–value
//! rows and a QR code. krilla's simple-text path draws one line at a time; line breaking by
//! measured glyph advances is the part written here.

use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::page::PageSettings;
use krilla::paint::Fill;
use krilla::text::{Font, TextDirection};
use krilla::Document;
use std::sync::{Arc, LazyLock};

static REGULAR_TTF: &[u8] = include_bytes!("../fonts/NotoSans-Regular.ttf");
static BOLD_TTF: &[u8] = include_bytes!("../fonts/NotoSans-Bold.ttf");

/// The two faces of Noto Sans, parsed once per process.
struct Faces {
    regular: Font,
    bold: Font,
    regular_metrics: ttf_parser::Face<'static>,
    bold_metrics: ttf_parser::Face<'static>,
}

static FACES: LazyLock<Option<Faces>> = LazyLock::new(|| {
    Some(Faces {
        regular: Font::new(Arc::new(REGULAR_TTF.to_vec()).into(), 0)?,
        bold: Font::new(Arc::new(BOLD_TTF.to_vec()).into(), 0)?,
        regular_metrics: ttf_parser::Face::parse(REGULAR_TTF, 0).ok()?,
        bold_metrics: ttf_parser::Face::parse(BOLD_TTF, 0).ok()?,
    })
});

/// A4 in PDF points (210 × 297 mm): Mẫu 06 and reports.
pub const A4: (f32, f32) = (595.28, 841.89);
/// A5 in PDF points (148 × 210 mm): Mẫu 01–05 are A5.
pub const A5: (f32, f32) = (419.53, 595.28);
const MARGIN: f32 = 34.0;

/// Text weight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weight {
    /// Normal text.
    Regular,
    /// Headings and labels.
    Bold,
}

/// Horizontal placement of a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    /// From the left margin.
    Left,
    /// Centred between the margins.
    Centre,
}

/// What a layout can fail on.
#[derive(Debug, thiserror::Error)]
pub enum LayoutError {
    /// The embedded font could not be read (a build problem, not an input problem).
    #[error("the embedded Noto Sans font could not be loaded")]
    Font,
    /// krilla refused to write the PDF.
    #[error("the PDF could not be written: {0}")]
    Pdf(String),
    /// The QR payload is too long for a QR code.
    #[error("the QR code could not be made: {0}")]
    Qr(String),
}

enum Item {
    Line {
        text: String,
        size: f32,
        weight: Weight,
        x: f32,
        y: f32,
    },
    Rule {
        y: f32,
    },
    Qr {
        modules: Vec<bool>,
        width: usize,
        x: f32,
        y: f32,
        side: f32,
    },
}

/// Lays out a document page by page, then writes it as PDF.
pub struct Sheet {
    pages: Vec<Vec<Item>>,
    y: f32,
    faces: &'static Faces,
    size: (f32, f32),
}

impl Sheet {
    /// An empty A5 document.
    pub fn new() -> Result<Sheet, LayoutError> {
        Sheet::with_size(A5)
    }

    /// An empty document of pages `size` (width, height) points.
    pub fn with_size(size: (f32, f32)) -> Result<Sheet, LayoutError> {
        let faces = FACES.as_ref().ok_or(LayoutError::Font)?;
        Ok(Sheet {
            pages: vec![Vec::new()],
            y: MARGIN,
            faces,
            size,
        })
    }

    fn width_of(&self, text: &str, size: f32, weight: Weight) -> f32 {
        let face = match weight {
            Weight::Regular => &self.faces.regular_metrics,
            Weight::Bold => &self.faces.bold_metrics,
        };
        let units: f32 = text
            .chars()
            .map(|c| {
                face.glyph_index(c)
                    .and_then(|g| face.glyph_hor_advance(g))
                    .map_or(0.5 * f32::from(face.units_per_em()), f32::from)
            })
            .sum();
        units * size / f32::from(face.units_per_em())
    }

    fn ensure_room(&mut self, height: f32) {
        if self.y + height > self.size.1 - MARGIN {
            self.pages.push(Vec::new());
            self.y = MARGIN;
        }
    }

    fn page(&mut self) -> &mut Vec<Item> {
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }

    /// Breaks `text` into lines no wider than `width` at spaces; a word longer than a line is cut.
    fn wrap(&self, text: &str, size: f32, weight: Weight, width: f32) -> Vec<String> {
        let mut lines = Vec::new();
        for paragraph in text.split('\n') {
            let mut line = String::new();
            for word in paragraph.split_whitespace() {
                let candidate = if line.is_empty() {
                    word.to_owned()
                } else {
                    format!("{line} {word}")
                };
                if self.width_of(&candidate, size, weight) <= width || line.is_empty() {
                    line = candidate;
                } else {
                    lines.push(std::mem::take(&mut line));
                    line = word.to_owned();
                }
            }
            lines.push(line);
        }
        lines
    }

    /// A paragraph, wrapped to the text width.
    pub fn text(&mut self, text: &str, size: f32, weight: Weight, align: Align) {
        self.text_at(
            MARGIN,
            self.size.0 - 2.0 * MARGIN,
            text,
            size,
            weight,
            align,
        );
    }

    fn text_at(
        &mut self,
        left: f32,
        width: f32,
        text: &str,
        size: f32,
        weight: Weight,
        align: Align,
    ) {
        let leading = size * 1.35;
        for line in self.wrap(text, size, weight, width) {
            self.ensure_room(leading);
            let x = match align {
                Align::Left => left,
                Align::Centre => left + (width - self.width_of(&line, size, weight)).max(0.0) / 2.0,
            };
            self.y += leading;
            let y = self.y - size * 0.3;
            self.page().push(Item::Line {
                text: line,
                size,
                weight,
                x,
                y,
            });
        }
    }

    /// "Label: value" with the label in bold and the value wrapped beside it.
    pub fn field(&mut self, label: &str, value: &str, size: f32) {
        let label = format!("{label}: ");
        let label_width = self.width_of(&label, size, Weight::Bold);
        let text_width = self.size.0 - 2.0 * MARGIN;
        let leading = size * 1.35;
        self.ensure_room(leading);
        let y_label = self.y + leading - size * 0.3;
        self.page().push(Item::Line {
            text: label,
            size,
            weight: Weight::Bold,
            x: MARGIN,
            y: y_label,
        });
        if label_width > text_width * 0.6 {
            // A long label takes its own line.
            self.y += leading;
            self.text(value, size, Weight::Regular, Align::Left);
        } else {
            self.text_at(
                MARGIN + label_width,
                text_width - label_width,
                value,
                size,
                Weight::Regular,
                Align::Left,
            );
        }
    }

    /// Two texts centred in the left and right halves of one line (signature blocks).
    pub fn two_columns(&mut self, left: &str, right: &str, size: f32, weight: Weight) {
        let half = (self.size.0 - 2.0 * MARGIN) / 2.0;
        let leading = size * 1.35;
        self.ensure_room(leading);
        self.y += leading;
        let y = self.y - size * 0.3;
        for (i, text) in [left, right].into_iter().enumerate() {
            let x = MARGIN
                + half * i as f32
                + (half - self.width_of(text, size, weight)).max(0.0) / 2.0;
            self.page().push(Item::Line {
                text: text.to_owned(),
                size,
                weight,
                x,
                y,
            });
        }
    }

    /// Vertical space.
    pub fn gap(&mut self, points: f32) {
        self.y += points;
    }

    /// A thin horizontal line across the text width.
    pub fn rule(&mut self) {
        self.ensure_room(6.0);
        self.y += 3.0;
        let y = self.y;
        self.page().push(Item::Rule { y });
        self.y += 3.0;
    }

    /// A QR code of `payload`, `side` points wide, at the right margin of the current line.
    pub fn qr_right(&mut self, payload: &str, side: f32) -> Result<(), LayoutError> {
        let code =
            qrcode::QrCode::new(payload.as_bytes()).map_err(|e| LayoutError::Qr(e.to_string()))?;
        let width = code.width();
        let modules = code
            .to_colors()
            .into_iter()
            .map(|c| c == qrcode::Color::Dark)
            .collect();
        self.ensure_room(side);
        let (x, y) = (self.size.0 - MARGIN - side, self.y);
        self.page().push(Item::Qr {
            modules,
            width,
            x,
            y,
            side,
        });
        Ok(())
    }

    /// Writes the PDF.
    pub fn finish(self) -> Result<Vec<u8>, LayoutError> {
        let mut document = Document::new();
        for items in &self.pages {
            let settings =
                PageSettings::from_wh(self.size.0, self.size.1).ok_or(LayoutError::Font)?;
            let mut page = document.start_page_with(settings);
            let mut surface = page.surface();
            surface.set_fill(Some(Fill {
                paint: rgb::Color::new(0, 0, 0).into(),
                ..Default::default()
            }));
            for item in items {
                match item {
                    Item::Line {
                        text,
                        size,
                        weight,
                        x,
                        y,
                    } => {
                        let font = match weight {
                            Weight::Regular => self.faces.regular.clone(),
                            Weight::Bold => self.faces.bold.clone(),
                        };
                        surface.draw_text(
                            Point::from_xy(*x, *y),
                            font,
                            *size,
                            text,
                            false,
                            TextDirection::Auto,
                        );
                    }
                    Item::Rule { y } => {
                        if let Some(rect) =
                            Rect::from_xywh(MARGIN, *y, self.size.0 - 2.0 * MARGIN, 0.6)
                        {
                            let mut pb = PathBuilder::new();
                            pb.push_rect(rect);
                            if let Some(path) = pb.finish() {
                                surface.draw_path(&path);
                            }
                        }
                    }
                    Item::Qr {
                        modules,
                        width,
                        x,
                        y,
                        side,
                    } => {
                        let cell = side / *width as f32;
                        let mut pb = PathBuilder::new();
                        for (i, dark) in modules.iter().enumerate() {
                            if *dark {
                                let (col, row) = ((i % width) as f32, (i / width) as f32);
                                if let Some(r) =
                                    Rect::from_xywh(x + col * cell, y + row * cell, cell, cell)
                                {
                                    pb.push_rect(r);
                                }
                            }
                        }
                        if let Some(path) = pb.finish() {
                            surface.draw_path(&path);
                        }
                    }
                }
            }
            surface.finish();
            page.finish();
        }
        document
            .finish()
            .map_err(|e| LayoutError::Pdf(format!("{e:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_text_flows_onto_more_pages_and_lines_fit_the_width() {
        let mut short = Sheet::new().expect("sheet");
        short.text("Một dòng", 10.0, Weight::Regular, Align::Left);
        assert_eq!(short.pages.len(), 1);
        let mut long = Sheet::new().expect("sheet");
        for i in 0..80 {
            long.text(&format!("{i}. Giấy tờ"), 10.0, Weight::Regular, Align::Left);
        }
        assert!(long.pages.len() > 1, "80 lines need more than one A5 page");

        let width = 200.0;
        let paragraph = "Thời gian giải quyết hồ sơ theo quy định là năm ngày làm việc kể từ khi nhận đủ hồ sơ hợp lệ";
        let lines = long.wrap(paragraph, 10.0, Weight::Regular, width);
        assert!(lines.len() > 1);
        for line in &lines {
            assert!(
                long.width_of(line, 10.0, Weight::Regular) <= width,
                "{line}"
            );
        }
        assert_eq!(lines.join(" "), paragraph, "wrapping loses no word");
    }
}
