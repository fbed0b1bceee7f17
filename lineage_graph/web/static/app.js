// lineage-graph dashboard: a single page over the public GraphQL API (the same queries a team's
// own dashboards send). Every view has a URL (#/...) a person can paste into a ticket.
"use strict";

const KIND_COLOURS = {
  DATASET: "#4C8EDA", DATASET_VERSION: "#8DCC93", JOB: "#F79767", RUN: "#FFC454",
  SCENE: "#C990C0", SCENE_VARIANT: "#DA7194", MODEL_VERSION: "#D9C8AE",
  LABELING_SESSION: "#57C7E3", LABELING_SCHEMA_VERSION: "#6DCE9E", FIELD: "#4C8EDA",
};
const KEY_STORAGE = "lineage-graph-api-key";  // sessionStorage: this tab only

// -- small helpers ----------------------------------------------------------------------------

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === "onclick" || key === "onchange" || key === "onsubmit") node[key] = value;
    else if (value !== null && value !== undefined) node.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function route(path, params) {
  const query = new URLSearchParams(params || {}).toString();
  return "#" + path + (query ? "?" + query : "");
}

function nodeLink(node, params) {
  return el("a", {href: route("/node/" + encodeURIComponent(node.id), params)},
            node.name || node.id);
}

function showError(message) {
  const box = document.getElementById("error");
  box.textContent = message;
  box.hidden = false;
  setTimeout(() => { box.hidden = true; }, 8000);
}

async function gql(query, variables) {
  const headers = {"Content-Type": "application/json"};
  const key = sessionStorage.getItem(KEY_STORAGE);
  if (key) headers.Authorization = "Bearer " + key;
  const response = await fetch("/graphql", {method: "POST", headers,
                                            body: JSON.stringify({query, variables})});
  if (response.status === 401) {
    document.getElementById("key-prompt").hidden = false;
    throw new Error("an API key is required");
  }
  const body = await response.json();
  if (body.errors && body.errors.length) throw new Error(body.errors[0].message);
  return body.data;
}

function setPanel(content) {
  const panel = document.getElementById("panel");
  panel.replaceChildren(...(content ? [content] : []));
  panel.hidden = !content;
  document.body.classList.toggle("with-panel", Boolean(content));
}

// -- views --------------------------------------------------------------------------------------

const SEARCH = `query Search($q: String!) { search(query: $q, limit: 50) { id kind name namespace } }`;

async function searchView(params) {
  const q = params.get("q") || "";
  document.getElementById("search-input").value = q;
  const found = q ? (await gql(SEARCH, {q})).search : [];
  return el("section", {id: "search-results"},
    el("h2", {}, `Search: ${q}`),
    found.length === 0 ? el("p", {class: "muted"}, "Nothing found.") :
    el("ul", {class: "results"}, found.map(n => el("li", {"data-kind": n.kind},
      el("span", {class: "kind"}, n.kind), nodeLink(n),
      n.namespace ? el("span", {class: "muted"}, "  " + n.namespace) : null))));
}

const LINEAGE = `query Lineage($id: ID!, $direction: LineageDirection!, $depth: Int!,
                                $level: LineageLevel) {
  lineage(nodeId: $id, direction: $direction, depth: $depth, level: $level) {
    nodes { id kind name namespace } edges { source target kind } truncated } }`;

function select(name, value, options, onchange) {
  return el("label", {}, name + " ",
    el("select", {name, onchange}, options.map(o => {
      const option = el("option", {value: o}, o);
      if (o === value) option.selected = true;
      return option;
    })));
}

async function lineageView(id, params) {
  const direction = params.get("direction") || "BOTH";
  const depth = Number(params.get("depth") || 3);
  const level = params.get("level") || "";
  const highlight = new Set((params.get("highlight") || "").split(",").filter(Boolean));
  const data = (await gql(LINEAGE, {id, direction, depth, level: level || null})).lineage;
  const change = (key) => (event) => {
    const next = new URLSearchParams(params);
    next.set(key, event.target.value);
    if (!event.target.value) next.delete(key);
    location.hash = route("/node/" + encodeURIComponent(id), Object.fromEntries(next));
  };
  const start = data.nodes.find(n => n.id === id) || {id, name: id, kind: ""};
  const section = el("section", {id: "lineage"},
    el("h2", {}, `${start.kind.toLowerCase().replace(/_/g, " ")} ${start.name}`),
    el("div", {class: "controls"},
      select("direction", direction, ["UPSTREAM", "DOWNSTREAM", "BOTH"], change("direction")),
      select("depth", String(depth), ["1", "2", "3", "5", "10", "20"], change("depth")),
      select("level", level, ["", "JOB", "RUN", "VERSION"], change("level")),
      start.kind === "DATASET" ? el("a", {id: "columns-link", href: route("/columns/" + encodeURIComponent(id))}, "column lineage") : null,
      el("span", {class: "muted", id: "graph-summary"},
         `${data.nodes.length} nodes, ${data.edges.length} edges` +
         (data.truncated ? " (truncated at the node cap)" : ""))),
    el("div", {id: "graph"}));
  document.getElementById("view").replaceChildren(section);
  setPanel(el("div", {id: "details"}, start.name));  // the panel's width first, then the layout
  drawGraph(data, id, highlight, params);
  showDetails(start);
  return null;  // already drawn
}

function drawGraph(data, centre, highlight, params, onTap) {
  const elements = [
    ...data.nodes.map(n => ({data: {id: n.id, label: n.name, kind: n.kind},
                             classes: (n.id === centre ? "centre " : "") +
                                      (highlight.has(n.id) ? "evidence" : "")})),
    ...data.edges.map(e => ({data: {id: `${e.source}->${e.target}`, source: e.source,
                                    target: e.target, kind: e.kind}})),
  ];
  const cy = cytoscape({
    container: document.getElementById("graph"), elements, wheelSensitivity: 0.3,
    minZoom: 0.05, maxZoom: 1.2,  // a small graph is not blown up past legible
    layout: {name: "dagre", rankDir: "LR", nodeSep: 24, rankSep: 150, padding: 30},
    style: [
      {selector: "node", style: {
        "label": "data(label)", "font-size": 10, "text-valign": "bottom", "text-margin-y": 4,
        "width": 22, "height": 22, "background-color": n => KIND_COLOURS[n.data("kind")] || "#A5ABB6",
        "text-wrap": "ellipsis", "text-max-width": 140}},
      {selector: "node.centre", style: {"border-width": 3, "border-color": "#1d2430"}},
      {selector: "node.evidence", style: {"border-width": 4, "border-color": "#c0392b"}},
      {selector: "edge", style: {
        "width": 1.2, "curve-style": "bezier", "target-arrow-shape": "triangle",
        "line-color": "#a5abb6", "target-arrow-color": "#a5abb6"}},
      {selector: "edge[kind = 'VERSION']", style: {"line-style": "dashed"}},
    ],
  });
  cy.on("tap", "node", (event) => {
    const node = event.target;
    if (onTap) return onTap(node);
    const next = new URLSearchParams(params);
    next.delete("highlight");
    location.hash = route("/node/" + encodeURIComponent(node.id()), Object.fromEntries(next));
  });
  window.lineageGraphView = cy;  // for the browser tests and the console
}

// Column lineage of a dataset, hop by hop upstream: each hop is one GraphQL request with an
// aliased `dataset { columnLineage }` per dataset of the frontier (at most 25 per request).
function columnQuery(refs) {
  const args = refs.map((_, i) => `$n${i}: String!, $m${i}: String!`).join(", ");
  const fields = refs.map((_, i) => `d${i}: dataset(namespace: $n${i}, name: $m${i}) {
    namespace name columnLineage { field inputs { namespace name field } } }`).join("\n");
  const variables = {};
  refs.forEach((r, i) => { variables[`n${i}`] = r.namespace; variables[`m${i}`] = r.name; });
  return [`query Columns(${args}) {\n${fields}\n}`, variables];
}

function fieldId(namespace, name, field) {
  return `datasetField:${namespace}:${name}:${field}`;
}

async function columnsView(id, params) {
  const depth = Number(params.get("depth") || 2);
  const start = (await gql(`query N($id: ID!) { node(id: $id) { id kind name namespace } }`, {id})).node;
  if (!start || start.kind !== "DATASET") return el("section", {}, el("h2", {}, "Column lineage needs a dataset"));
  const nodes = new Map(), edges = new Set(), seen = new Set([start.id]);
  let frontier = [{namespace: start.namespace, name: start.name}];
  for (let hop = 0; hop < depth && frontier.length; hop++) {
    const next = [];
    for (let i = 0; i < frontier.length; i += 25) {
      const [query, variables] = columnQuery(frontier.slice(i, i + 25));
      const data = await gql(query, variables);
      for (const d of Object.values(data)) {
        if (!d) continue;
        for (const column of d.columnLineage) {
          const out = fieldId(d.namespace, d.name, column.field);
          nodes.set(out, {id: out, name: `${d.name}.${column.field}`, kind: "FIELD"});
          for (const input of column.inputs) {
            const source = fieldId(input.namespace, input.name, input.field);
            nodes.set(source, nodes.get(source) || {id: source, name: `${input.name}.${input.field}`, kind: "FIELD"});
            edges.add(`${source}\u0000${out}`);
            const dataset = `dataset:${input.namespace}:${input.name}`;
            if (!seen.has(dataset)) { seen.add(dataset); next.push({namespace: input.namespace, name: input.name}); }
          }
        }
      }
    }
    frontier = next;
  }
  const data = {nodes: [...nodes.values()], edges: [...edges].map(e => {
    const [source, target] = e.split("\u0000");
    return {source, target, kind: "INPUT"};
  })};
  const section = el("section", {id: "columns"},
    el("h2", {}, `column lineage of ${start.name}`),
    el("div", {class: "controls"},
      select("depth", String(depth), ["1", "2", "3", "5", "10"], (event) => {
        location.hash = route("/columns/" + encodeURIComponent(id), {depth: event.target.value});
      }),
      el("a", {href: route("/node/" + encodeURIComponent(id))}, "dataset lineage"),
      el("span", {class: "muted"}, `${data.nodes.length} fields, ${data.edges.length} edges`)),
    el("div", {id: "graph"}));
  document.getElementById("view").replaceChildren(section);
  drawGraph(data, null, new Set(), new URLSearchParams(), () => {});
  return null;
}

async function showDetails(node) {
  const shownFor = location.hash;  // a view left meanwhile must not get this panel
  const rows = [el("h3", {}, node.name), el("p", {class: "kind"}, node.kind),
                el("p", {class: "muted"}, node.id)];
  try {
    if (node.kind === "DATASET" && node.namespace) {
      const d = (await gql(`query D($ns: String!, $name: String!) { dataset(namespace: $ns, name: $name) {
          description facets fields(limit: 50) { name type } versions(limit: 5) { version createdAt }
          aliases { namespace name } } }`, {ns: node.namespace, name: node.name})).dataset;
      if (d) {
        rows.push(el("h4", {}, "Fields"), el("p", {}, d.fields.map(f => `${f.name}: ${f.type || "?"}`).join(", ") || "none"));
        rows.push(el("h4", {}, "Versions"), el("ul", {}, d.versions.map(v => el("li", {}, `${v.version}  ${v.createdAt || ""}`))));
        if (d.aliases.length) rows.push(el("h4", {}, "Also known as"), el("p", {}, d.aliases.map(a => `${a.namespace} ${a.name}`).join("; ")));
        rows.push(el("h4", {}, "Facets"), el("pre", {}, JSON.stringify(d.facets, null, 1)));
      }
    } else if (node.kind === "JOB" && node.namespace) {
      const j = (await gql(`query J($ns: String!, $name: String!) { job(namespace: $ns, name: $name) {
          sql runs(limit: 10) { id state startedAt } facets } }`, {ns: node.namespace, name: node.name})).job;
      if (j) {
        rows.push(el("h4", {}, "Runs"), el("ul", {}, j.runs.map(r => el("li", {},
          nodeLink({id: r.id, name: `${r.state || "?"} ${r.startedAt || r.id}`})))));
        if (j.sql) rows.push(el("h4", {}, "SQL"), el("pre", {}, j.sql));
        rows.push(el("h4", {}, "Facets"), el("pre", {}, JSON.stringify(j.facets, null, 1)));
      }
    } else if (node.kind === "SCENE_VARIANT" || node.kind === "SCENE") {
      const v = node.kind === "SCENE_VARIANT" ? (await gql(`query V($id: ID!) { sceneVariant(id: $id) {
          primCount scene { sceneId contentHash } } }`, {id: node.id})).sceneVariant : null;
      const scene = v ? v.scene : null;
      if (v) rows.push(el("p", {}, `${v.primCount ?? "?"} prims`));
      if (scene) rows.push(el("p", {}, el("a", {id: "scene-link", href: route("/scene/" + encodeURIComponent(scene.sceneId),
        {contentHash: scene.contentHash})}, `scene ${scene.sceneId}: versions, layers, variants`)));
    } else if (node.kind === "RUN") {
      const r = (await gql(`query R($id: ID!) { run(id: $id) { state startedAt endedAt errorMessage
          job { id name } facets } }`, {id: node.id})).run;
      if (r) {
        rows.push(el("p", {}, `${r.state || "no state yet"}: ${r.startedAt || "?"} to ${r.endedAt || "?"}`));
        if (r.job) rows.push(el("p", {}, "job ", nodeLink(r.job)));
        if (r.errorMessage) rows.push(el("pre", {}, r.errorMessage));
        rows.push(el("h4", {}, "Facets"), el("pre", {}, JSON.stringify(r.facets, null, 1)));
      }
    }
  } catch (error) {
    rows.push(el("p", {class: "muted"}, String(error.message)));
  }
  if (location.hash === shownFor) setPanel(el("div", {id: "details"}, rows));
}

const MODELS = `{ models(limit: 100) { id name version digest trainedBy { startedAt } } }`;

async function modelsView() {
  const models = (await gql(MODELS)).models;
  return el("section", {id: "models"}, el("h2", {}, "Model versions"),
    el("table", {}, el("tr", {}, el("th", {}, "model"), el("th", {}, "version"), el("th", {}, "digest"), el("th", {}, "trained")),
      models.map(m => el("tr", {},
        el("td", {}, m.name),
        el("td", {}, el("a", {href: route(`/model/${encodeURIComponent(m.name)}/${encodeURIComponent(m.version)}`)}, m.version)),
        el("td", {class: "muted"}, (m.digest || "").slice(0, 23)),
        el("td", {class: "muted"}, m.trainedBy ? m.trainedBy.startedAt : "")))));
}

const MODEL_PAGE = `query Model($name: String!, $version: String!, $baseline: String!, $metric: String!) {
  candidate: modelVersion(name: $name, version: $version) { id name version
    metrics(name: $metric) { value slice { dimensions sceneVariant { id selections { set option } } } } }
  baseline: modelVersion(name: $name, version: $baseline) { id version
    metrics(name: $metric) { value slice { dimensions sceneVariant { id selections { set option } } } } }
  regressionSuspects(model: $name, version: $version, baseline: $baseline, metric: $metric) {
    baselineValue candidateValue delta regressed higherIsBetter
    implicatedSceneVariants { id name }
    suspects { rank kind score reason node { id kind name } evidence evidenceText } } }`;

function sliceKey(metric) {
  // A slice is named by its scene variant's selections and its other dimensions.
  if (!metric.slice) return "overall";
  const parts = [];
  if (metric.slice.sceneVariant) {
    parts.push(metric.slice.sceneVariant.selections.map(s => `${s.set}=${s.option}`).join(","));
  }
  const dims = metric.slice.dimensions || {};
  for (const key of Object.keys(dims).sort()) {
    if (key === "sceneVariant") continue;
    const value = dims[key];
    parts.push(`${key}=${typeof value === "object" ? JSON.stringify(value) : value}`);
  }
  return parts.join(" ") || "overall";
}

function chart(pairs, higherIsBetter) {
  const width = 640, row = 28, height = pairs.length * row + 10;
  const max = Math.max(...pairs.flatMap(p => [p.baseline ?? 0, p.candidate ?? 0]), 1e-9);
  const scale = (v) => 300 * (v || 0) / max;
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("class", "chart"); svg.setAttribute("width", width); svg.setAttribute("height", height);
  pairs.forEach((p, i) => {
    const y = 5 + i * row;
    const worse = p.baseline !== undefined && p.candidate !== undefined &&
      (higherIsBetter ? p.candidate < p.baseline : p.candidate > p.baseline);
    const text = document.createElementNS(svg.namespaceURI, "text");
    text.setAttribute("x", 0); text.setAttribute("y", y + 14); text.textContent = p.slice;
    const base = document.createElementNS(svg.namespaceURI, "rect");
    base.setAttribute("x", 250); base.setAttribute("y", y); base.setAttribute("height", 10);
    base.setAttribute("width", scale(p.baseline)); base.setAttribute("class", "bar-baseline");
    const cand = document.createElementNS(svg.namespaceURI, "rect");
    cand.setAttribute("x", 250); cand.setAttribute("y", y + 11); cand.setAttribute("height", 10);
    cand.setAttribute("width", scale(p.candidate));
    cand.setAttribute("class", worse ? "bar-candidate regressed" : "bar-candidate");
    cand.setAttribute("data-slice", p.slice);
    const values = document.createElementNS(svg.namespaceURI, "text");
    values.setAttribute("x", 560); values.setAttribute("y", y + 14);
    values.textContent = `${p.baseline ?? "-"} -> ${p.candidate ?? "-"}`;
    svg.append(text, base, cand, values);
  });
  return svg;
}

async function modelView(name, version, params) {
  const baseline = params.get("baseline") || "";
  const metric = params.get("metric") || "mAP";
  if (!baseline) {
    return el("section", {}, el("h2", {}, `${name} ${version}`),
      el("p", {}, "Pick a baseline version: ", el("a", {href: route(`/models`)}, "model versions"),
        " (URL parameter baseline=VERSION, metric=NAME)."));
  }
  const data = await gql(MODEL_PAGE, {name, version, baseline, metric});
  const slices = new Map();
  for (const [side, model] of [["baseline", data.baseline], ["candidate", data.candidate]]) {
    for (const m of (model ? model.metrics : [])) {
      const key = sliceKey(m);
      slices.set(key, {...(slices.get(key) || {slice: key}), [side]: m.value});
    }
  }
  const report = data.regressionSuspects;
  const pairs = [...slices.values()].sort((a, b) => a.slice.localeCompare(b.slice));
  return el("section", {id: "model"},
    el("h2", {}, `${name} ${version} vs ${baseline} on ${metric}`),
    el("p", {}, `${report.baselineValue} -> ${report.candidateValue} (delta ${report.delta.toFixed(3)}), `,
       report.regressed ? el("strong", {class: "bad"}, "regressed") : "no regression"),
    el("h3", {}, "Per slice (grey: baseline, blue: candidate, red: worse)"), chart(pairs, report.higherIsBetter !== false),
    report.implicatedSceneVariants.length ? el("p", {id: "implicated"}, "Scene variants that fed the regression: ",
      report.implicatedSceneVariants.map(v => nodeLink(v))) : null,
    el("h3", {}, "Regression suspects"),
    el("table", {id: "suspects"},
      el("tr", {}, el("th", {}, "rank"), el("th", {}, "score"), el("th", {}, "kind"), el("th", {}, "suspect"), el("th", {}, "reason")),
      report.suspects.map(s => el("tr", {"data-rank": s.rank},
        el("td", {}, String(s.rank)), el("td", {}, s.score.toFixed(3)), el("td", {class: "kind"}, s.kind),
        // The model's version-accurate upstream, with this suspect's evidence path marked.
        el("td", {}, el("a", {href: route("/node/" + encodeURIComponent(data.candidate.id), {
          direction: "UPSTREAM", depth: "10", level: "VERSION",
          highlight: (s.evidence[0] || []).join(",")})}, s.node.name)),
        el("td", {}, s.reason, el("div", {class: "evidence"}, s.evidenceText[0] || ""))))));
}

const SCENE = `query Scene($id: String!, $version: String, $hash: String) {
  scene(sceneId: $id, version: $version, contentHash: $hash) {
    id sceneId version contentHash missingAssets
    versions { version contentHash ingestedAt }
    layers { path sha256 missing }
    variantSets { name options defaultOption }
    variants(limit: 100) { id primCount selections { set option }
      datasets(limit: 20) { id namespace name } } } }`;

const VARIANT_DIFF = `query Diff($a: ID!, $b: ID!) { sceneVariantDiff(a: $a, b: $b) {
  selectionChanges { variantSet a b } primsOnlyInA primsOnlyInB commonPrims primsCompared } }`;

function selectionText(selections) {
  return selections.map(s => `${s.set}=${s.option}`).join(",");
}

async function sceneView(sceneId, params) {
  const scene = (await gql(SCENE, {id: sceneId, version: params.get("version"),
                                   hash: params.get("contentHash")})).scene;
  if (!scene) return el("section", {}, el("h2", {}, `No scene ${sceneId}`));
  const here = (extra) => route("/scene/" + encodeURIComponent(sceneId),
                                {contentHash: scene.contentHash, ...extra});
  const section = el("section", {id: "scene"},
    el("h2", {}, `scene ${scene.sceneId} ${scene.version}`),
    el("p", {class: "muted"}, `content ${scene.contentHash}`),
    el("h3", {}, "Versions"),
    el("table", {id: "scene-versions"}, scene.versions.map(v => el("tr", {},
      el("td", {}, el("a", {href: route("/scene/" + encodeURIComponent(sceneId),
                                        {contentHash: v.contentHash})}, v.version)),
      el("td", {class: "muted"}, v.contentHash.slice(0, 16)),
      el("td", {class: "muted"}, v.ingestedAt || "")))),
    el("h3", {}, "Layers"),
    el("ul", {id: "scene-layers"}, scene.layers.map(l => el("li", {"data-missing": String(l.missing), "data-path": l.path},
      l.path, l.missing ? el("strong", {class: "bad"}, "  missing") : el("span", {class: "muted"}, "  " + (l.sha256 || "").slice(0, 16))))),
    el("h3", {}, "Variant sets"),
    el("ul", {}, scene.variantSets.map(s => el("li", {}, `${s.name}: ${s.options.join(", ")} (default ${s.defaultOption || "none"})`))),
    el("h3", {}, "Scene variants"),
    el("table", {id: "scene-variants"},
      el("tr", {}, el("th", {}, "selections"), el("th", {}, "prims"), el("th", {}, "datasets rendered from it"), el("th", {}, "compare")),
      scene.variants.map(v => el("tr", {"data-variant": v.id},
        el("td", {}, nodeLink({id: v.id, name: selectionText(v.selections)}, {direction: "DOWNSTREAM", depth: "3"})),
        el("td", {}, String(v.primCount ?? "")),
        el("td", {}, v.datasets.map(d => el("div", {}, nodeLink(d)))),
        el("td", {}, el("a", {href: here({a: v.id, b: params.get("b") || scene.variants[0].id})}, "as A"), " ",
                     el("a", {href: here({a: params.get("a") || scene.variants[0].id, b: v.id})}, "as B"))))));
  const [a, b] = [params.get("a"), params.get("b")];
  if (a && b) {
    const diff = (await gql(VARIANT_DIFF, {a, b})).sceneVariantDiff;
    const name = (id) => selectionText((scene.variants.find(v => v.id === id) || {selections: []}).selections) || id;
    section.append(el("h3", {}, `Compared: A ${name(a)} / B ${name(b)}`),
      el("div", {id: "variant-diff"},
        el("p", {}, "Selections that differ: ", diff.selectionChanges.map(c => `${c.variantSet}: ${c.a} -> ${c.b}`).join("; ") || "none"),
        ...(diff.primsCompared ? [
          el("p", {}, `Prims only in A: ${diff.primsOnlyInA.join(", ") || "none"}`),
          el("p", {}, `Prims only in B: ${diff.primsOnlyInB.join(", ") || "none"}`),
          el("p", {class: "muted"}, `${diff.commonPrims} prims in common`)]
        : [el("p", {class: "muted", id: "prims-not-compared"},
              "Prims not compared: a variant has no stored prims (a scene stored with --prims summary, or a variant no scene has stored yet)")])));
  }
  return section;
}

const LEDGER_STATUS = `{ ledgerStatus { records lastVerifiedAt
  lastVerification { ok checked firstBadSequence reason } } }`;
const VERIFY = `{ verifyLedger { ok checked firstBadSequence reason } }`;

async function healthView() {
  const response = await fetch("/healthz");
  const health = await response.json();
  const ledger = (await gql(LEDGER_STATUS)).ledgerStatus;
  const last = ledger.lastVerification;
  const verify = async () => {
    try {
      await gql(VERIFY);  // needs the admin scope
      render();
    } catch (error) {
      showError(`verification: ${error.message}`);
    }
  };
  return el("section", {id: "health"}, el("h2", {}, "Health"),
    el("table", {},
      el("tr", {}, el("th", {}, "Neo4j"), el("td", {id: "health-neo4j"}, health.neo4j)),
      el("tr", {}, el("th", {}, "spool depth"), el("td", {id: "health-spool"}, String(health.spool.depth))),
      el("tr", {}, el("th", {}, "dead letters"), el("td", {id: "health-dead"}, String(health.spool.deadLetters))),
      el("tr", {}, el("th", {}, "records in the ledger"), el("td", {id: "health-records"}, String(ledger.records))),
      el("tr", {}, el("th", {}, "last verification"), el("td", {id: "health-verified"},
        last ? `${last.ok ? "ok" : "FAILED at record " + last.firstBadSequence + ": " + last.reason}, ` +
               `${last.checked} records, ${ledger.lastVerifiedAt}` : "none since this API started",
        " ", el("button", {id: "verify", onclick: verify}, "verify now")))));
}

function homeView() {
  return el("section", {id: "home"}, el("h2", {}, "lineage-graph"),
    el("p", {}, "Search above for a dataset, job, run, scene variant, model version or labeling schema, ",
      "or open the ", el("a", {href: "#/models"}, "model versions"), "."));
}

// -- routing ------------------------------------------------------------------------------------

async function render() {
  const [path, query] = location.hash.slice(1).split("?");
  const params = new URLSearchParams(query || "");
  const parts = (path || "/").split("/").filter(Boolean).map(decodeURIComponent);
  setPanel(null);
  try {
    let view;
    if (parts[0] === "search") view = await searchView(params);
    else if (parts[0] === "node" && parts[1]) view = await lineageView(parts[1], params);
    else if (parts[0] === "columns" && parts[1]) view = await columnsView(parts[1], params);
    else if (parts[0] === "models") view = await modelsView();
    else if (parts[0] === "model" && parts[2]) view = await modelView(parts[1], parts[2], params);
    else if (parts[0] === "health") view = await healthView();
    else if (parts[0] === "scene" && parts[1]) view = await sceneView(parts[1], params);
    else view = homeView();
    if (view) document.getElementById("view").replaceChildren(view);
    document.body.dataset.ready = location.hash;  // the browser tests wait for this
  } catch (error) {
    showError(error.message);
    document.body.dataset.ready = location.hash;
  }
}

document.getElementById("search-form").onsubmit = (event) => {
  event.preventDefault();
  location.hash = route("/search", {q: document.getElementById("search-input").value});
};
document.getElementById("key-form").onsubmit = (event) => {
  event.preventDefault();
  sessionStorage.setItem(KEY_STORAGE, document.getElementById("key-input").value);
  document.getElementById("key-prompt").hidden = true;
  render();
};
window.addEventListener("hashchange", render);
render();
