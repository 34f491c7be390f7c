// A small SVG plotting kit for the viewer's figures: linear axes with ticks
// and labels, lines, points, error bars and a legend, written as plain SVG
// text (no script, no external resource), so a figure stands alone as a file
// and inline in the page.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace speedrunner::view {

// Text safe inside HTML/SVG elements and attribute values.
[[nodiscard]] inline std::string escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

[[nodiscard]] inline std::string num(double v, int digits = 3) {
  if (!std::isfinite(v)) return "n/a";
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

// Colours shared by the figures and the page's CSS (colour-blind safe, Okabe-Ito).
inline constexpr std::string_view palette[] = {"#0072b2", "#e69f00", "#009e73", "#cc79a7",
                                               "#56b4e9", "#d55e00", "#f0e442", "#000000"};
[[nodiscard]] inline std::string_view colour(std::size_t i) { return palette[i % std::size(palette)]; }

// "Nice" tick values covering [lo, hi]: steps of 1, 2 or 5 times a power of ten.
[[nodiscard]] inline std::vector<double> ticks(double lo, double hi, int target = 5) {
  if (!(hi > lo)) return {lo};
  const double raw = (hi - lo) / target, mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (raw <= m * mag) {
      step = m * mag;
      break;
    }
  std::vector<double> out;
  for (double t = std::ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) out.push_back(std::abs(t) < step * 1e-9 ? 0 : t);
  return out;
}

// One figure: a plot area with data ranges mapped onto it.
class Plot {
 public:
  Plot(std::string name, std::string title, double width = 640, double height = 360)
      : name_(std::move(name)), title_(std::move(title)), w_(width), h_(height) {}

  // Data ranges (padded a little where lo == hi).
  void x_range(double lo, double hi) { set(x0_, x1_, lo, hi); }
  void y_range(double lo, double hi) { set(y0_, y1_, lo, hi); }
  void labels(std::string x, std::string y) {
    xlabel_ = std::move(x);
    ylabel_ = std::move(y);
  }
  // Category names for the x ticks instead of numbers (at x = 0, 1, ...).
  void x_categories(std::vector<std::string> names) { xcats_ = std::move(names); }

  [[nodiscard]] double px(double x) const { return left + (x - x0_) / (x1_ - x0_) * (w_ - left - right); }
  [[nodiscard]] double py(double y) const { return h_ - bottom - (y - y0_) / (y1_ - y0_) * (h_ - top - bottom); }

  void line(const std::vector<std::pair<double, double>>& pts, std::string_view colour, std::string_view label = {},
            bool dashed = false, double width = 1.8) {
    if (pts.empty()) return;
    std::string d;
    for (const auto& [x, y] : pts) d += (d.empty() ? "M" : " L") + num(px(x), 1) + "," + num(py(y), 1);
    body_ += "<path class=\"series\" data-label=\"" + escape(label) + "\" d=\"" + d + "\" fill=\"none\" stroke=\"" +
             std::string(colour) + "\" stroke-width=\"" + num(width, 1) + "\"" +
             (dashed ? " stroke-dasharray=\"6 4\"" : "") + "/>\n";
    if (!label.empty()) legend_.emplace_back(std::string(label), std::string(colour));
  }
  // A legend entry for marks drawn without a line of their own.
  void legend(std::string label, std::string_view colour) { legend_.emplace_back(std::move(label), std::string(colour)); }
  void hline(double y, std::string_view colour, std::string_view label) {
    line({{x0_, y}, {x1_, y}}, colour, label, true, 1.2);
  }
  void vline(double x, std::string_view colour, std::string_view label) {
    line({{x, y0_}, {x, y1_}}, colour, label, true, 1.2);
  }
  void point(double x, double y, std::string_view colour, double r = 4, std::string_view title = {}) {
    body_ += "<circle class=\"mark\" cx=\"" + num(px(x), 1) + "\" cy=\"" + num(py(y), 1) + "\" r=\"" + num(r, 1) +
             "\" fill=\"" + std::string(colour) + "\">" +
             (title.empty() ? "" : "<title>" + escape(title) + "</title>") + "</circle>\n";
  }
  // A vertical interval with caps (an error bar or a confidence interval).
  void vbar(double x, double lo, double hi, std::string_view colour) {
    const double X = px(x);
    body_ += "<path class=\"interval\" d=\"M" + num(X, 1) + "," + num(py(lo), 1) + " L" + num(X, 1) + "," +
             num(py(hi), 1) + " M" + num(X - 5, 1) + "," + num(py(lo), 1) + " L" + num(X + 5, 1) + "," +
             num(py(lo), 1) + " M" + num(X - 5, 1) + "," + num(py(hi), 1) + " L" + num(X + 5, 1) + "," +
             num(py(hi), 1) + "\" stroke=\"" + std::string(colour) + "\" stroke-width=\"1.5\" fill=\"none\"/>\n";
  }
  // A filled band between two y values per x (stacked areas).
  void band(const std::vector<double>& xs, const std::vector<double>& lo, const std::vector<double>& hi,
            std::string_view colour, std::string_view label) {
    if (xs.empty()) return;
    std::string d;
    for (std::size_t i = 0; i < xs.size(); ++i) d += (d.empty() ? "M" : " L") + num(px(xs[i]), 1) + "," + num(py(hi[i]), 1);
    for (std::size_t i = xs.size(); i-- > 0;) d += " L" + num(px(xs[i]), 1) + "," + num(py(lo[i]), 1);
    body_ += "<path class=\"area\" data-label=\"" + escape(label) + "\" d=\"" + d + " Z\" fill=\"" + std::string(colour) +
             "\" fill-opacity=\"0.75\" stroke=\"none\"/>\n";
    legend_.emplace_back(std::string(label), std::string(colour));
  }
  void text(double x, double y, std::string_view s, std::string_view anchor = "middle") {
    body_ += "<text x=\"" + num(px(x), 1) + "\" y=\"" + num(py(y), 1) + "\" text-anchor=\"" + std::string(anchor) +
             "\" font-size=\"11\">" + escape(s) + "</text>\n";
  }

  // The whole figure as a standalone SVG element.
  [[nodiscard]] std::string svg() const {
    std::string s = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"figure\" data-figure=\"" + escape(name_) +
                    "\" viewBox=\"0 0 " + num(w_, 0) + " " + num(h_, 0) + "\" width=\"" + num(w_, 0) + "\" height=\"" +
                    num(h_, 0) + "\" font-family=\"sans-serif\">\n<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n";
    s += "<text class=\"title\" x=\"" + num(w_ / 2, 1) + "\" y=\"18\" text-anchor=\"middle\" font-size=\"14\">" +
         escape(title_) + "</text>\n";
    // axes: ticks, grid and labels
    s += "<g class=\"axis x\" data-label=\"" + escape(xlabel_) + "\">\n";
    if (!xcats_.empty()) {
      for (std::size_t i = 0; i < xcats_.size(); ++i)
        s += tick_x(static_cast<double>(i), xcats_[i]);
    } else {
      for (double t : ticks(x0_, x1_)) s += tick_x(t, short_num(t));
    }
    s += "<text class=\"axis-label\" x=\"" + num((left + w_ - right) / 2, 1) + "\" y=\"" + num(h_ - 6, 1) +
         "\" text-anchor=\"middle\" font-size=\"12\">" + escape(xlabel_) + "</text>\n</g>\n";
    s += "<g class=\"axis y\" data-label=\"" + escape(ylabel_) + "\">\n";
    for (double t : ticks(y0_, y1_)) {
      const double Y = py(t);
      s += "<line x1=\"" + num(left, 1) + "\" x2=\"" + num(w_ - right, 1) + "\" y1=\"" + num(Y, 1) + "\" y2=\"" +
           num(Y, 1) + "\" stroke=\"#e5e5e5\"/>\n<text class=\"tick\" x=\"" + num(left - 6, 1) + "\" y=\"" +
           num(Y + 4, 1) + "\" text-anchor=\"end\" font-size=\"11\">" + short_num(t) + "</text>\n";
    }
    s += "<text class=\"axis-label\" transform=\"translate(14," + num((top + h_ - bottom) / 2, 1) +
         ") rotate(-90)\" text-anchor=\"middle\" font-size=\"12\">" + escape(ylabel_) + "</text>\n</g>\n";
    s += "<rect x=\"" + num(left, 1) + "\" y=\"" + num(top, 1) + "\" width=\"" + num(w_ - left - right, 1) +
         "\" height=\"" + num(h_ - top - bottom, 1) + "\" fill=\"none\" stroke=\"#888\"/>\n";
    s += body_;
    // legend, top right inside the plot
    double ly = top + 14;
    for (const auto& [label, c] : legend_) {
      s += "<g class=\"legend\"><rect x=\"" + num(w_ - right - 190, 1) + "\" y=\"" + num(ly - 9, 1) +
           "\" width=\"12\" height=\"10\" fill=\"" + c + "\"/><text x=\"" + num(w_ - right - 174, 1) + "\" y=\"" +
           num(ly, 1) + "\" font-size=\"11\">" + escape(label) + "</text></g>\n";
      ly += 15;
    }
    return s + "</svg>\n";
  }

  static constexpr double left = 64, right = 16, top = 30, bottom = 46;

 private:
  static void set(double& a, double& b, double lo, double hi) {
    if (!std::isfinite(lo) || !std::isfinite(hi)) lo = 0, hi = 1;
    if (hi <= lo) {
      const double pad = std::max(std::abs(lo) * 0.1, 0.5);
      lo -= pad;
      hi += pad;
    }
    a = lo;
    b = hi;
  }
  [[nodiscard]] static std::string short_num(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", v);
    return buf;
  }
  [[nodiscard]] std::string tick_x(double x, std::string_view label) const {
    const double X = px(x);
    return "<line x1=\"" + num(X, 1) + "\" x2=\"" + num(X, 1) + "\" y1=\"" + num(h_ - bottom, 1) + "\" y2=\"" +
           num(h_ - bottom + 4, 1) + "\" stroke=\"#888\"/>\n<text class=\"tick\" x=\"" + num(X, 1) + "\" y=\"" +
           num(h_ - bottom + 16, 1) + "\" text-anchor=\"middle\" font-size=\"11\">" + escape(label) + "</text>\n";
  }

  std::string name_, title_, xlabel_, ylabel_;
  double w_, h_;
  double x0_ = 0, x1_ = 1, y0_ = 0, y1_ = 1;
  std::vector<std::string> xcats_;
  std::string body_;
  std::vector<std::pair<std::string, std::string>> legend_;
};

}  // namespace speedrunner::view
