// The viewer page: one self-contained HTML file (inline SVG, CSS and a little
// plain JavaScript; nothing fetched) showing runs and sweeps, plus each figure
// as its own SVG file in a folder beside it. Every number in it comes from
// figures.hpp and metrics/sweep.hpp, the computation `speedrun report` prints.
#pragma once

#include <speedrunner/view/figures.hpp>
#include <speedrunner/workspace/atomic_file.hpp>

#include <boost/json/serialize.hpp>

#include <filesystem>
#include <string>
#include <vector>

namespace speedrunner::view {

struct PageOptions {
  std::filesystem::path templates;  // record templates (baselines, the human records)
  int resamples = metrics::default_resamples;
  std::uint64_t seed = 0;
  bool live = false;                // a run still going: the page reloads itself every 10 s
};

struct Page {
  std::string html;
  std::vector<Figure> figures;
};

namespace detail {

// The nodes of a run as the page's script reads them.
[[nodiscard]] inline boost::json::object run_json(const RunView& run) {
  boost::json::array nodes;
  for (std::size_t i = 0; i < run.journal.nodes.size(); ++i) {
    const auto& n = run.journal.nodes[i];
    const auto& v = run.nodes[i];
    boost::json::object m;
    for (const auto& [k, x] : n.metrics) m[k] = x;
    nodes.push_back(boost::json::object{
        {"id", n.id},
        {"name", n.name()},
        {"parent", n.parent ? boost::json::value(*n.parent) : boost::json::value(nullptr)},
        {"kind", kind_name(v.kind)},
        {"stage", n.parent ? workspace::stage_name(n.stage) : "template"},
        {"phase", workspace::to_string(n.phase)},
        {"summary", n.hypothesis.summary},
        {"hypothesis", n.hypothesis.text},
        {"outcome", n.outcome},
        {"valid", n.valid},
        {"reason", n.reason},
        {"metrics", std::move(m)},
        {"usd", n.cost.usd},
        {"input_tokens", n.cost.usage.input_tokens},
        {"output_tokens", n.cost.usage.output_tokens},
        {"ideate_s", n.timings.ideate_s},
        {"code_s", n.timings.code_s},
        {"execute_s", n.timings.execute_s},
        {"analyse_s", n.timings.analyse_s},
        {"diff", v.diff},
        {"log_head", v.log_head},
        {"log_tail", v.log_tail},
    });
  }
  return {{"name", run.name}, {"nodes", std::move(nodes)}};
}

// JSON inside <script>: "</" would end the element, so it is written "<\/".
[[nodiscard]] inline std::string script_json(const boost::json::value& v) {
  std::string s = boost::json::serialize(v), out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '<' && i + 1 < s.size() && (s[i + 1] == '/' || s[i + 1] == '!')) out += "\\u003c";
    else out += s[i];
  }
  return out;
}

inline constexpr std::string_view css = R"(
body{font-family:sans-serif;margin:0;color:#222;background:#fafafa}
header{background:#123;color:#fff;padding:10px 18px}header h1{font-size:18px;margin:0}
header p{margin:4px 0 0;font-size:13px;color:#cde}
main{display:flex;gap:16px;padding:12px 18px;align-items:flex-start}
#content{flex:1 1 auto;min-width:0}
#panel{flex:0 0 430px;position:sticky;top:8px;max-height:96vh;overflow:auto;background:#fff;border:1px solid #ccc;padding:10px;font-size:13px}
#panel h2{font-size:15px;margin:0 0 6px}
section{background:#fff;border:1px solid #ddd;margin-bottom:14px;padding:10px}
section h2{font-size:16px;margin:0 0 8px}
figure{margin:8px 0;overflow:auto}figcaption{font-size:12px;color:#555;max-width:760px}
table{border-collapse:collapse;font-size:12px;margin:6px 0}td,th{border:1px solid #ddd;padding:3px 6px;text-align:right}
td:first-child,th:first-child{text-align:left}
pre{background:#f4f4f4;padding:6px;font-size:11px;white-space:pre-wrap;word-break:break-all;max-height:340px;overflow:auto}
.add{color:#05702e;display:block}.del{color:#a40e0e;display:block}.hunk{color:#0645ad;display:block}
g.node.selected circle{stroke:#000;stroke-width:4}
.kind{display:inline-block;padding:1px 6px;border-radius:8px;color:#fff;font-size:12px}
.row{display:flex;flex-wrap:wrap;gap:8px}
)";

// The page's script: the node panel (click a node, or open the page with
// #node=RUN:ID), the run picker, and errors made visible to a headless test.
inline constexpr std::string_view script = R"JS(
(function () {
  'use strict';
  var errors = [];
  window.addEventListener('error', function (e) {
    errors.push(String(e.message));
    document.body.setAttribute('data-errors', errors.join(' | '));
  });
  var data = JSON.parse(document.getElementById('run-data').textContent);
  var colours = JSON.parse(document.getElementById('kind-colours').textContent);
  var panel = document.getElementById('panel');
  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }
  function diffBlock(text) {
    var pre = el('pre', null, 'diff');
    if (!text) { pre.textContent = '(no change)'; return pre; }
    text.split('\n').forEach(function (line) {
      var c = line.charAt(0);
      var cls = line.indexOf('@@') === 0 ? 'hunk' : (c === '+' && line.indexOf('+++') !== 0) ? 'add'
              : (c === '-' && line.indexOf('---') !== 0) ? 'del' : '';
      var span = el('span', line + '\n', cls);
      pre.appendChild(span);
    });
    return pre;
  }
  function fmt(x) { return typeof x === 'number' ? (Math.round(x * 1000) / 1000).toString() : String(x); }
  function show(run, id) {
    var r = data[run];
    if (!r) return;
    var n = r.nodes[id];
    if (!n) return;
    document.querySelectorAll('g.node.selected').forEach(function (g) { g.classList.remove('selected'); });
    var g = document.querySelector('g.node[data-run="' + run + '"][data-node="' + id + '"]');
    if (g) g.classList.add('selected');
    panel.textContent = '';
    panel.setAttribute('data-run', run);
    panel.setAttribute('data-node', id);
    panel.appendChild(el('h2', r.name + ' / ' + n.name));
    var kind = el('span', n.kind, 'kind');
    kind.style.background = colours[n.kind] || '#777';
    panel.appendChild(kind);
    panel.appendChild(el('p', n.stage + (n.parent === null ? '' : ' from v_' + n.parent) + ', ' + n.phase));
    panel.appendChild(el('h3', 'Hypothesis'));
    panel.appendChild(el('p', n.summary || '(none)', 'summary'));
    if (n.hypothesis && n.hypothesis !== n.summary) panel.appendChild(el('pre', n.hypothesis, 'hypothesis'));
    panel.appendChild(el('h3', 'Outcome'));
    panel.appendChild(el('p', n.outcome || '(not finished)', 'outcome'));
    panel.appendChild(el('p', n.valid ? 'valid' : 'not valid' + (n.reason ? ': ' + n.reason : ''), 'validity'));
    var t = el('table', null, 'metrics');
    Object.keys(n.metrics).forEach(function (k) {
      var tr = el('tr'); tr.appendChild(el('td', k)); tr.appendChild(el('td', fmt(n.metrics[k]))); t.appendChild(tr);
    });
    [['cost (USD)', n.usd], ['input tokens', n.input_tokens], ['output tokens', n.output_tokens],
     ['ideate (s)', n.ideate_s], ['code (s)', n.code_s], ['execute (s)', n.execute_s], ['analyse (s)', n.analyse_s]]
      .forEach(function (kv) {
        var tr = el('tr', null, 'cost'); tr.appendChild(el('td', kv[0])); tr.appendChild(el('td', fmt(kv[1]))); t.appendChild(tr);
      });
    panel.appendChild(t);
    panel.appendChild(el('h3', 'Diff against its parent'));
    panel.appendChild(diffBlock(n.diff));
    panel.appendChild(el('h3', 'Log: head'));
    panel.appendChild(el('pre', n.log_head || '(no log)', 'log-head'));
    if (n.log_tail) { panel.appendChild(el('h3', 'Log: tail')); panel.appendChild(el('pre', n.log_tail, 'log-tail')); }
  }
  function pickRun(i) {
    document.querySelectorAll('section.run').forEach(function (s) {
      s.style.display = (String(i) === s.getAttribute('data-run')) ? '' : 'none';
    });
    var sel = document.getElementById('run-select');
    if (sel) sel.value = String(i);
  }
  document.querySelectorAll('g.node').forEach(function (g) {
    g.addEventListener('click', function () {
      var run = +g.getAttribute('data-run'), id = +g.getAttribute('data-node');
      show(run, id);
      history.replaceState(null, '', '#node=' + run + ':' + id);
    });
  });
  var sel = document.getElementById('run-select');
  if (sel) sel.addEventListener('change', function () { pickRun(sel.value); });
  var m = /node=(\d+):(\d+)/.exec(location.hash);
  if (m) {
    pickRun(m[1]);
    var g = document.querySelector('g.node[data-run="' + m[1] + '"][data-node="' + m[2] + '"]');
    if (g) g.dispatchEvent(new MouseEvent('click', {bubbles: true}));
  } else if (data.length) {
    pickRun(0);
  }
  document.body.setAttribute('data-ready', '1');
})();
)JS";

inline void figure_html(std::string& out, const Figure& f) {
  out += "<figure data-name=\"" + escape(f.name) + "\">" + f.svg + "<figcaption>" + escape(f.caption) +
         " (file: figures/" + escape(f.name) + ".svg)</figcaption></figure>\n";
}

}  // namespace detail

// The page for `runs` (one or many) and their comparison across conditions.
[[nodiscard]] inline Page build_page(const std::vector<RunView>& runs, const metrics::Comparison& cmp,
                                     const PageOptions& options) {
  Page page;
  std::string body;
  // ---- runs
  boost::json::array data;
  body += "<section id=\"runs\"><h2>Runs (" + std::to_string(runs.size()) + ")</h2>\n";
  if (runs.size() > 1) {
    body += "<label>run <select id=\"run-select\">";
    for (std::size_t i = 0; i < runs.size(); ++i)
      body += "<option value=\"" + std::to_string(i) + "\">" + escape(runs[i].name + " (" + runs[i].condition.label() + ")") +
              "</option>";
    body += "</select></label>\n";
  }
  body += "<table class=\"runs\"><tr><th>run</th><th>task</th><th>scaffold / model / hints</th><th>nodes</th>"
          "<th>best</th><th>FSR</th><th>judge</th></tr>\n";
  for (const auto& r : runs) {
    const auto best = r.journal.best_valid();
    std::string best_text = "none valid";
    if (best) best_text = r.journal.at(*best).name() + " " + r.journal.selection.metric + " " +
                          metrics::format_number(*r.journal.score(r.journal.at(*best)));
    body += "<tr data-run=\"" + escape(r.name) + "\"><td>" + escape(r.name) + "</td><td>" + escape(r.task) + "</td><td>" +
            escape(r.condition.label()) + "</td><td>" + std::to_string(r.journal.n_nodes()) + "</td><td>" +
            escape(best_text) + "</td><td class=\"fsr\">" + (r.score ? num(r.score->fsr) : "-") + "</td><td class=\"judge\">" +
            (r.judgement ? num(r.judgement->score, 2) : "-") + "</td></tr>\n";
  }
  body += "</table></section>\n";
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const auto& r = runs[i];
    data.push_back(detail::run_json(r));
    body += "<section class=\"run\" data-run=\"" + std::to_string(i) + "\"><h2>" + escape(r.name) + "</h2>\n<p>" +
            escape(r.dir.string()) + " &middot; " + escape(r.condition.label()) + " &middot; " +
            std::to_string(r.journal.n_nodes()) + " node(s), " + std::to_string(r.journal.iterations) +
            " iteration(s), model cost $" + escape(metrics::format_number(r.journal.spent_usd())) + "</p>\n";
    if (r.score)
      body += "<p class=\"score\">FSR " + num(r.score->fsr) + ": t_R " + num(r.score->baseline.record_ms / 1000, 1) +
              " s, t_R+1 " + num(r.score->baseline.next_ms / 1000, 1) + " s, t_agent " + num(r.score->agent_ms / 1000, 1) +
              " s (record " + std::to_string(r.score->record) + ", " + escape(r.score->track) + ")</p>\n";
    else
      body += "<p class=\"unscored\">No FSR: " + escape(r.unscored) + "</p>\n";
    if (r.judgement) {
      body += "<div class=\"judgement\" data-score=\"" + num(r.judgement->score, 3) + "\"><b>Judge</b> (" +
              escape(r.judgement->model) + ", " + escape(r.judgement->node) + " against record " +
              std::to_string(r.judgement->record + 1) + "'s change): reproduced " + num(r.judgement->score, 2) +
              " of it<ul>";
      for (const auto& reason : r.judgement->reasons) body += "<li>" + escape(reason) + "</li>";
      body += "</ul></div>\n";
    } else if (!r.judgement_error.empty()) {
      body += "<p class=\"judgement-error\">" + escape(r.judgement_error) + "</p>\n";
    }
    auto tree = tree_figure(r, i);
    detail::figure_html(body, tree);
    page.figures.push_back(std::move(tree));
    if (auto curves = curves_figure(r)) {
      detail::figure_html(body, *curves);
      page.figures.push_back(std::move(*curves));
    }
    body += "</section>\n";
  }

  // ---- across runs
  std::string track;
  for (const auto& r : runs)
    if (r.score) track = r.score->track;
  if (!cmp.conditions.empty() || runs.size() > 1) {
    body += "<section id=\"across\"><h2>Across runs</h2>\n";
    if (!cmp.conditions.empty()) {
      body += "<h3>FSR per record and condition</h3>\n<table class=\"fsr-table\"><tr><th>scaffold / model / hints</th>"
              "<th>record</th><th>runs</th><th>FSRs</th><th>mean</th></tr>\n";
      for (const auto& c : cmp.conditions)
        for (const auto& [key, fsrs] : c.fsr) {
          std::string list;
          for (double f : fsrs) list += (list.empty() ? "" : ", ") + num(f);
          body += "<tr><td>" + escape(c.condition.label()) + "</td><td>" + escape(key.first) + " " +
                  std::to_string(key.second) + "&rarr;" + std::to_string(key.second + 1) + "</td><td>" +
                  std::to_string(fsrs.size()) + "</td><td>" + list + "</td><td>" + num(metrics::mean_of(fsrs)) +
                  "</td></tr>\n";
        }
      body += "</table>\n";
      Figure f = fsr_figure(cmp);
      detail::figure_html(body, f);
      page.figures.push_back(std::move(f));
      body += "<h3>Aggregates (stratified bootstrap, " + std::to_string(cmp.resamples) + " resamples, seed " +
              std::to_string(cmp.seed) + ")</h3>\n<table class=\"aggregates\"><tr><th>scaffold / model / hints</th>"
              "<th>runs</th><th>records</th><th>IQM</th><th>median</th><th>mean</th><th>optimality gap</th></tr>\n";
      for (const auto& c : cmp.conditions) {
        const auto& e = c.estimate;
        body += "<tr data-condition=\"" + escape(c.condition.label()) + "\"><td>" + escape(c.condition.label()) +
                "</td><td>" + std::to_string(e.runs) + "</td><td>" + std::to_string(e.strata) +
                "</td><td data-metric=\"iqm\">" + metrics::interval_text(e.point.iqm, e.iqm) +
                "</td><td data-metric=\"median\">" + metrics::interval_text(e.point.median, e.median) +
                "</td><td data-metric=\"mean\">" + metrics::interval_text(e.point.mean, e.mean) +
                "</td><td data-metric=\"optimality-gap\">" +
                metrics::interval_text(e.point.optimality_gap, e.optimality_gap) + "</td></tr>\n";
      }
      body += "</table>\n<div class=\"row\">\n";
      for (int w = 0; w < 4; ++w) {
        Figure f = aggregate_figure(cmp, w);
        detail::figure_html(body, f);
        page.figures.push_back(std::move(f));
      }
      body += "</div>\n";
    }
    if (auto f = node_types_figure(runs)) {
      detail::figure_html(body, *f);
      page.figures.push_back(std::move(*f));
    }
    if (!track.empty()) {
      const auto human = record_times(options.templates, track);
      if (auto f = cumulative_figure(runs, human, track)) {
        detail::figure_html(body, *f);
        page.figures.push_back(std::move(*f));
      }
      if (auto f = baselines_figure(human, track)) {
        detail::figure_html(body, *f);
        page.figures.push_back(std::move(*f));
      }
    }
    body += "</section>\n";
  }

  boost::json::object colours;
  for (auto k : {NodeKind::template_, NodeKind::valid, NodeKind::improved, NodeKind::no_improvement, NodeKind::buggy,
                 NodeKind::in_flight})
    colours[kind_name(k)] = kind_colour(k);
  const std::string title = runs.size() == 1 ? "speedrun: " + runs.front().name
                                             : "speedrun: " + std::to_string(runs.size()) + " runs";
  std::string& h = page.html;
  h = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n";
  if (options.live) h += "<meta http-equiv=\"refresh\" content=\"10\">\n";
  h += "<title>" + escape(title) + "</title>\n<style>" + std::string(detail::css) + "</style></head>\n<body>\n";
  h += "<header><h1>" + escape(title) + "</h1><p>written " + escape(workspace::utc_now_iso()) +
       (options.live ? " &middot; the run is going: this page reloads every 10 s" : "") + "</p></header>\n";
  h += "<main><div id=\"content\">\n" + body + "</div>\n<aside id=\"panel\"><h2>Node</h2><p>Click a node of a tree to see "
       "its hypothesis, diff, metrics, log, cost and timings.</p></aside></main>\n";
  h += "<script type=\"application/json\" id=\"run-data\">" + detail::script_json(data) + "</script>\n";
  h += "<script type=\"application/json\" id=\"kind-colours\">" + detail::script_json(colours) + "</script>\n";
  h += "<script>" + std::string(detail::script) + "</script>\n</body></html>\n";
  return page;
}

// Writes the page to `html` and each figure to figures/NAME.svg beside it,
// each file atomically (a browser reloading it never sees half a page).
[[nodiscard]] inline Result<void> write_page(const std::filesystem::path& html, const Page& page) {
  const auto dir = html.parent_path().empty() ? std::filesystem::path("figures") : html.parent_path() / "figures";
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return fail(dir.string() + ": cannot create it (" + ec.message() + ")", "check the folder's permissions");
  for (const auto& f : page.figures)
    if (auto r = workspace::write_file_atomic(dir / (f.name + ".svg"), f.svg); !r) return r;
  return workspace::write_file_atomic(html, page.html);
}

// Loads the runs under `paths` (run or sweep folders), scores and compares them,
// and builds their page; a run that cannot be loaded is an error naming it.
[[nodiscard]] inline Result<Page> page_for(const std::vector<std::filesystem::path>& paths, const PageOptions& options) {
  const auto dirs = metrics::find_runs(paths);
  if (dirs.empty())
    return fail("no run folder (one holding journal.json) under " + (paths.empty() ? std::string("(none)") : paths.front().string()),
                "give a run folder (workspaces/NAME) or a sweep folder holding run folders");
  std::vector<RunView> runs;
  std::vector<metrics::ConditionedRun> scored;
  for (const auto& d : dirs) {
    auto r = load_run(d, {.templates = options.templates});
    if (!r) return std::unexpected(std::move(r.error()).context(d.string()));
    if (r->score) scored.push_back({*r->score, r->condition});
    runs.push_back(std::move(*r));
  }
  return build_page(runs, metrics::compare(scored, options.resamples, options.seed), options);
}

}  // namespace speedrunner::view
