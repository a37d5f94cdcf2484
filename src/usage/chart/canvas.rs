//! An RGB pixel canvas with the few drawing operations a bar chart needs.

use super::font;

pub(crate) type Rgb = [u8; 3];

pub(crate) struct Canvas {
    pub width: u32,
    pub height: u32,
    pixels: Vec<u8>,
}

impl Canvas {
    pub fn new(width: u32, height: u32, background: Rgb) -> Self {
        let pixels = background
            .iter()
            .copied()
            .cycle()
            .take(width as usize * height as usize * 3)
            .collect();
        Self {
            width,
            height,
            pixels,
        }
    }

    pub(crate) fn pixels(&self) -> &[u8] {
        &self.pixels
    }

    pub fn set(&mut self, x: u32, y: u32, color: Rgb) {
        if x < self.width && y < self.height {
            let i = (y as usize * self.width as usize + x as usize) * 3;
            self.pixels[i..i + 3].copy_from_slice(&color);
        }
    }

    /// Fills the rectangle with corners `(x, y)` and `(x + w, y + h)` (exclusive), clipped.
    pub fn fill(&mut self, x: u32, y: u32, w: u32, h: u32, color: Rgb) {
        for yy in y..y.saturating_add(h).min(self.height) {
            for xx in x..x.saturating_add(w).min(self.width) {
                self.set(xx, yy, color);
            }
        }
    }

    /// Draws `text` with its top-left corner at `(x, y)`, each font pixel `scale` wide.
    pub fn text(&mut self, x: u32, y: u32, text: &str, color: Rgb, scale: u32) {
        for (i, c) in text.chars().enumerate() {
            let left = x + i as u32 * font::ADVANCE * scale;
            for (row, bits) in font::glyph(c).iter().enumerate() {
                for col in 0..font::WIDTH {
                    if bits & (1 << (font::WIDTH - 1 - col)) != 0 {
                        self.fill(
                            left + col * scale,
                            y + row as u32 * scale,
                            scale,
                            scale,
                            color,
                        );
                    }
                }
            }
        }
    }

    /// The width `text` takes at `scale`.
    pub(crate) fn text_width(text: &str, scale: u32) -> u32 {
        (text.chars().count() as u32 * font::ADVANCE).saturating_sub(1) * scale
    }
}
