/* The supervisors' dashboard: reads the API with the token the user typed in and draws the SLA
   board, the agency x procedure heatmap, the processing-time charts and the reform scorecard.
   Vanilla JavaScript, no build step, nothing from another host; charts are inline SVG. Every
   label is in TEXT below, in Vietnamese (the default) and in English. */
"use strict";

(function dashboard() {
  const TOKEN_KEY = "lienthong.dashboard.token"; // sessionStorage: gone with the tab
  const LANG_KEY = "lienthong.dashboard.lang"; // localStorage: remembered
  const REFRESH_MS = 30000;
  const LIST_LIMIT = 100;
  const ZONE = "Asia/Ho_Chi_Minh"; // the agencies' clocks
  const KINDS = ["open", "on_track", "at_risk", "overdue", "paused", "not_started"];
  const LISTS = ["overdue", "at_risk", "overdue_steps", "apology_due", "repeat_supplements",
    "undeliverable"];
  const PALETTE = ["#4a7fb5", "#e08a2e", "#5aa469", "#b5543c", "#8a6bbd", "#3aa2a8", "#c9a227",
    "#7a7f87"];

  const TEXT = {
    vi: {
      title: "Bảng điều hành giám sát",
      switchLang: "English",
      agency: "Cơ quan",
      procedure: "Thủ tục",
      allAgencies: "Tất cả cơ quan",
      allProcedures: "Tất cả thủ tục",
      logout: "Đăng xuất",
      updated: "Cập nhật lúc {time}",
      refreshes: "Tự làm mới mỗi 30 giây, không tải lại trang",
      asOf: "Tình hình lúc {time}",
      asOfHelp: "Bảng theo dõi tính tại thời điểm ghi trong địa chỉ (?at=); bỏ ?at= để xem " +
        "hiện tại",
      badAt: "Thời điểm trong địa chỉ (?at=) không dùng được ({detail}). Ghi ngày giờ kèm múi " +
        "giờ, ví dụ ?at=2025-07-31T17:00:00%2B07:00, hoặc bỏ ?at= để xem hiện tại.",
      loading: "Đang tải…",
      loginTitle: "Đăng nhập",
      loginHelp: "Dán mã truy cập của giám sát viên (tạo bằng lệnh “lienthong tokens create " +
        "--role supervisor”) hoặc mã demo do “make run” in ra. Mã chỉ được giữ trong phiên " +
        "trình duyệt này.",
      token: "Mã truy cập (token)",
      loginButton: "Đăng nhập",
      unauthorized: "Mã truy cập không đúng hoặc đã bị thu hồi. Hãy nhập mã khác.",
      forbidden: "Mã truy cập này không được xem bảng điều hành: cần mã của giám sát viên, " +
        "người lập kế hoạch hoặc quản trị viên.",
      apiSays: "Máy chủ trả lời: {detail}",
      offline: "Không tải được dữ liệu ({detail}); sẽ thử lại sau 30 giây. Số liệu đang hiển " +
        "thị là của lần cập nhật trước.",
      boardTitle: "Bảng theo dõi hạn xử lý",
      open: "Đang giải quyết",
      on_track: "Đúng hạn",
      at_risk: "Có nguy cơ trễ hạn",
      overdue: "Quá hạn",
      paused: "Tạm dừng",
      not_started: "Chưa bắt đầu",
      stepsLine: "Tính theo bước: {n}",
      overdue_steps: "Bước quá hạn",
      apology_due: "Phải xin lỗi (mẫu 04)",
      repeat_supplements: "Yêu cầu bổ sung nhiều lần",
      undeliverable: "Chuyển liên thông thất bại",
      listsTitle: "Hồ sơ cần chú ý",
      code: "Mã hồ sơ",
      step: "Bước",
      stepAt: "Bước (thủ tục · cơ quan)",
      assignee: "Người xử lý",
      due: "Hạn",
      hoursOver: "Số giờ quá hạn",
      hoursLeft: "Số giờ còn lại",
      workingHours: "giờ làm việc (không tính ngày nghỉ, ngoài giờ hành chính)",
      from: "Từ",
      to: "Đến",
      service: "Loại",
      since: "Gửi lúc",
      none: "Không có hồ sơ nào.",
      shown: "Hiển thị {shown} trên {total}.",
      heatmapTitle: "Bản đồ nhiệt: cơ quan × thủ tục",
      heatmapHelp: "Màu của ô: tỷ lệ hồ sơ đang giải quyết chưa quá hạn, tức (đang giải quyết " +
        "− quá hạn) / đang giải quyết, tại thời điểm cập nhật. Số nhỏ: chưa quá hạn / đang " +
        "giải quyết.",
      legendLow: "0% (tất cả quá hạn)",
      legendHigh: "100% chưa quá hạn",
      legendNone: "— không có hồ sơ",
      metricsTitle: "Thời gian giải quyết",
      metricsPeriod: "Hồ sơ đã giải quyết xong, {period}; tính bằng ngày làm việc.",
      wholeHistory: "toàn bộ lịch sử",
      median: "Trung vị",
      p90: "90% hồ sơ",
      limit: "Thời hạn {days}",
      days: "{n} ngày",
      facts: "{finished} hồ sơ xong · đúng hạn {rate} · trễ hạn {late} · mục tiêu rút ngắn " +
        "20%: {goal}",
      goal_meets: "đạt",
      goal_does_not_meet: "chưa đạt",
      goal_not_enough_data: "chưa đủ dữ liệu",
      goal_no_baseline: "chưa có mốc so sánh",
      reduction: "giảm {value} so với mốc {baseline}",
      whereTime: "Thời gian nằm ở đâu (bình quân mỗi hồ sơ)",
      agencyTime: "Thời gian bình quân mỗi hồ sơ tại từng cơ quan",
      noMetrics: "Chưa có hồ sơ nào giải quyết xong trong kỳ.",
      scorecardTitle: "Chỉ số cải cách thủ tục hành chính",
      scorecardPeriod: "Toàn thành phố (không theo bộ lọc), {period}.",
      indicator: "Chỉ số",
      value: "Kết quả",
      target: "Mục tiêu",
      verdict: "Đánh giá",
      counted: "Số liệu",
      trend: "Theo tháng",
      met_yes: "Đạt",
      met_no: "Chưa đạt",
      met_unknown: "Chưa có dữ liệu",
    },
    en: {
      title: "Supervisors' dashboard",
      switchLang: "Tiếng Việt",
      agency: "Agency",
      procedure: "Procedure",
      allAgencies: "All agencies",
      allProcedures: "All procedures",
      logout: "Log out",
      updated: "Updated at {time}",
      refreshes: "Refreshes every 30 s, without reloading the page",
      asOf: "As of {time}",
      asOfHelp: "The board as it stood at the instant in the address (?at=); remove ?at= to " +
        "see it now",
      badAt: "The instant in the address (?at=) cannot be used ({detail}). Give a date and " +
        "time with its UTC offset, e.g. ?at=2025-07-31T17:00:00%2B07:00, or remove ?at= to see " +
        "the board now.",
      loading: "Loading…",
      loginTitle: "Log in",
      loginHelp: "Paste a supervisor's token (made with “lienthong tokens create --role " +
        "supervisor”) or the demo token that “make run” prints. It is kept for this browser " +
        "session only.",
      token: "Access token",
      loginButton: "Log in",
      unauthorized: "The token is unknown or revoked. Enter another one.",
      forbidden: "This token may not read the dashboard: use a supervisor's, a planner's or an " +
        "administrator's token.",
      apiSays: "The server says: {detail}",
      offline: "Could not load the data ({detail}); retrying in 30 s. The figures shown are " +
        "from the last update.",
      boardTitle: "SLA board",
      open: "Open",
      on_track: "On track",
      at_risk: "At risk",
      overdue: "Overdue",
      paused: "Paused",
      not_started: "Not started",
      stepsLine: "Counted by step: {n}",
      overdue_steps: "Overdue steps",
      apology_due: "Apology due (form 04)",
      repeat_supplements: "Supplement asked again",
      undeliverable: "Undeliverable hand-overs",
      listsTitle: "Dossiers needing attention",
      code: "Dossier",
      step: "Step",
      stepAt: "Step (procedure · agency)",
      assignee: "Officer",
      due: "Due",
      hoursOver: "Hours overdue",
      hoursLeft: "Hours left",
      workingHours: "working hours (days off and nights not counted)",
      from: "From",
      to: "To",
      service: "Kind",
      since: "Sent at",
      none: "None.",
      shown: "Showing {shown} of {total}.",
      heatmapTitle: "Heatmap: agency × procedure",
      heatmapHelp: "Cell colour: the on-time share of the open dossiers, that is (open − " +
        "overdue) / open, at the last update. Small figures: not overdue / open.",
      legendLow: "0% (all overdue)",
      legendHigh: "100% not overdue",
      legendNone: "— no dossier",
      metricsTitle: "Processing time",
      metricsPeriod: "Finished dossiers, {period}; in working days.",
      wholeHistory: "the whole history",
      median: "Median",
      p90: "90th percentile",
      limit: "Limit {days}",
      days: "{n} d",
      facts: "{finished} finished · on time {rate} · late {late} · 20% reduction goal: {goal}",
      goal_meets: "met",
      goal_does_not_meet: "not met",
      goal_not_enough_data: "not enough data",
      goal_no_baseline: "no baseline",
      reduction: "{value} shorter than the baseline of {baseline}",
      whereTime: "Where the time goes (mean per dossier)",
      agencyTime: "Mean time per dossier at each agency",
      noMetrics: "No dossier finished in the period.",
      scorecardTitle: "Reform scorecard",
      scorecardPeriod: "All agencies (not filtered), {period}.",
      indicator: "Indicator",
      value: "Value",
      target: "Target",
      verdict: "Verdict",
      counted: "Count",
      trend: "Monthly",
      met_yes: "Met",
      met_no: "Not met",
      met_unknown: "No data",
    },
  };

  class ApiError extends Error {
    constructor(status, detail) {
      super(detail);
      this.status = status;
    }
  }

  class AuthError extends ApiError {}

  /** The API's problem as one line: its ``detail``, then each ``errors`` item's field and
   * reason (the API's error format). */
  function readable(body, fallback) {
    const detail = typeof body?.detail === "string" ? body.detail : fallback;
    const errors = Array.isArray(body?.errors) ? body.errors : [];
    const reasons = errors.map((item) => (item.field ? item.field + ": " : "") + item.reason);
    return reasons.length ? detail + " (" + reasons.join("; ") + ")" : detail;
  }

  const state = {
    lang: localStorage.getItem(LANG_KEY) === "en" ? "en" : "vi",
    token: sessionStorage.getItem(TOKEN_KEY),
    names: null,
    data: null,
    agency: "",
    procedure: "",
    tab: "overdue",
    seq: 0,
    timer: null,
    // the board as of an instant given in the address (?at=...), or now
    at: instantInAddress(),
  };

  const $ = (id) => document.getElementById(id);

  /** ``?at=`` of the address. A "+" typed into an address arrives as a space: a space before
   * the UTC offset at the end is read back as "+". */
  function instantInAddress() {
    const at = new URLSearchParams(window.location.search).get("at");
    return at ? at.trim().replace(/ (\d{2}(:?\d{2})?)$/, "+$1") : null;
  }

  // ---- words and numbers -------------------------------------------------------------------

  function t(key, values) {
    let text = TEXT[state.lang][key] ?? TEXT.vi[key] ?? key;
    for (const [name, value] of Object.entries(values || {})) {
      text = text.replace("{" + name + "}", String(value));
    }
    return text;
  }

  const locale = () => (state.lang === "vi" ? "vi-VN" : "en-GB");
  const number = (value, digits = 0) =>
    new Intl.NumberFormat(locale(), { maximumFractionDigits: digits }).format(value);
  const missing = (value) => value === null || value === undefined;
  const share = (value) => (missing(value) ? "—" : number(value * 100, 1) + "%");
  const days = (value) => (missing(value) ? "—" : t("days", { n: number(value, 1) }));

  function instant(iso, withDate = true) {
    const options = { timeZone: ZONE, hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
    if (withDate) Object.assign(options, { day: "2-digit", month: "2-digit", year: "numeric" });
    else options.second = "2-digit";
    return new Intl.DateTimeFormat(locale(), options).format(new Date(iso));
  }

  function day(iso) {
    const options = { timeZone: ZONE, day: "2-digit", month: "2-digit", year: "numeric" };
    return new Intl.DateTimeFormat(locale(), options).format(new Date(iso));
  }

  const agencyName = (code) => state.names?.agencies[code]?.[state.lang] ?? code;

  function procedureOf(code, version) {
    const versions = (state.names?.procedures ?? []).filter((p) => p.code === code);
    return versions.find((p) => p.version === version) ?? versions[versions.length - 1];
  }

  const procedureName = (code, version) => procedureOf(code, version)?.name[state.lang] ?? code;
  const stepName = (code, version, step) =>
    procedureOf(code, version)?.steps[step]?.[state.lang] ?? String(step ?? "—");

  function splitKey(key) {
    const at = key.lastIndexOf("@");
    return at < 0 ? [key, ""] : [key.slice(0, at), key.slice(at + 1)];
  }

  // ---- the DOM, without innerHTML (every text is data) -------------------------------------

  function el(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (!missing(value) && value !== false) node.setAttribute(name, value);
    }
    for (const child of children.flat()) {
      if (!missing(child)) node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }

  function svg(tag, attributes, ...children) {
    const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, value);
    for (const child of children.flat()) {
      if (!missing(child)) node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }

  function table(headers, rows) {
    const head = el("tr", null,
      headers.map(([label, cls, title]) => el("th", { class: cls, title }, label)));
    return el("table", null, el("thead", null, head), el("tbody", null, rows));
  }

  // ---- the API ------------------------------------------------------------------------------

  async function api(path) {
    const response = await fetch(path, {
      headers: { Authorization: "Bearer " + state.token, Accept: "application/json" },
      cache: "no-store",
    });
    let body = null;
    try {
      body = await response.json();
    } catch (error) {
      body = null;
    }
    const detail = readable(body, response.statusText);
    if (response.status === 401 || response.status === 403) {
      throw new AuthError(response.status, detail);
    }
    if (!response.ok) throw new ApiError(response.status, response.status + ": " + detail);
    return body;
  }

  async function load() {
    const seq = ++state.seq;
    const board = new URLSearchParams({ limit: String(LIST_LIMIT) });
    if (state.agency) board.set("agency", state.agency);
    if (state.at) board.set("at", state.at);
    const metrics = new URLSearchParams();
    if (state.procedure) metrics.set("procedure", state.procedure);
    // the board first: it is what a supervisor watches, and it is quick to count; the
    // processing-time charts and the scorecard are asked for once it is shown (so that their
    // heavier work never delays it) and drawn when they arrive
    try {
      const [names, sla] = await Promise.all([
        state.names ?? api("/dashboard/names"),
        api("/api/v1/sla?" + board),
      ]);
      if (seq !== state.seq) return; // a newer request is on its way
      state.names = names;
      state.data = {
        sla,
        processing: state.data?.processing ?? null,
        scorecard: state.data?.scorecard ?? null,
        complete: false,
      };
      $("problem").hidden = true;
      showBoard();
      render();
      const [processing, scorecard] = await Promise.all([
        api("/api/v1/metrics/procedures?" + metrics),
        api("/api/v1/scorecard"),
      ]);
      if (seq !== state.seq) return;
      state.data = { sla, processing, scorecard, complete: true };
      render();
    } catch (error) {
      if (seq !== state.seq) return;
      if (error instanceof AuthError) {
        const reason = t(error.status === 401 ? "unauthorized" : "forbidden");
        logout(reason + " " + t("apiSays", { detail: error.message }));
      } else if (error instanceof ApiError && error.status === 422 && state.at) {
        $("updated").textContent = "";
        showProblem(t("badAt", { detail: error.message }), false); // retrying will not help
      } else {
        showProblem(t("offline", { detail: error.message }));
      }
    }
  }

  function showProblem(message, retry = true) {
    $("problem").textContent = message;
    $("problem").hidden = false;
    if (retry && state.timer === null) state.timer = setInterval(load, REFRESH_MS); // try again
  }

  // ---- log in and out ------------------------------------------------------------------------

  function showBoard() {
    $("login").hidden = true;
    $("board").hidden = false;
    $("filters").hidden = false;
    $("logout").hidden = false;
    if (state.timer === null) state.timer = setInterval(load, REFRESH_MS);
  }

  function logout(message) {
    state.seq++;
    state.token = null;
    state.data = null;
    sessionStorage.removeItem(TOKEN_KEY);
    if (state.timer !== null) clearInterval(state.timer);
    state.timer = null;
    $("board").hidden = true;
    $("filters").hidden = true;
    $("logout").hidden = true;
    $("problem").hidden = true;
    $("updated").textContent = "";
    $("login").hidden = false;
    $("login-error").textContent = message || "";
    $("login-error").hidden = !message;
    $("token").value = "";
    $("token").focus();
  }

  function login(event) {
    event.preventDefault();
    const token = $("token").value.trim();
    if (!token) return;
    state.token = token;
    sessionStorage.setItem(TOKEN_KEY, token);
    $("login-error").hidden = true;
    $("updated").textContent = t("loading");
    load();
  }

  // ---- drawing --------------------------------------------------------------------------------

  function labels() {
    document.documentElement.lang = state.lang;
    document.title = "lienthong · " + t("title");
    for (const node of document.querySelectorAll("[data-i18n]")) {
      node.textContent = t(node.dataset.i18n);
    }
    $("lang").textContent = t("switchLang");
    $("lang").setAttribute("lang", state.lang === "vi" ? "en" : "vi");
  }

  function render() {
    labels();
    if (!state.data) return;
    const { sla, processing, scorecard } = state.data;
    filters();
    const updated = $("updated");
    updated.textContent = state.at
      ? t("asOf", { time: instant(sla.at) })
      : t("updated", { time: instant(sla.at, false) });
    updated.title = state.at ? t("asOfHelp") : t("refreshes");
    updated.dataset.at = sla.at;
    updated.dataset.agency = sla.agency ?? "";
    updated.dataset.procedure = state.procedure;
    if (state.data.complete) updated.dataset.complete = sla.at;
    else delete updated.dataset.complete;
    counts(sla);
    lists(sla);
    heatmap(sla);
    if (processing) charts(processing);
    if (scorecard) indicators(scorecard);
  }

  /** The filters' options, in the page's language (rebuilt only when that changes, so that a
      refresh does not close an open list). */
  function filters() {
    const agency = $("filter-agency");
    if (agency.dataset.lang === state.lang) return;
    agency.dataset.lang = state.lang;
    agency.replaceChildren(
      el("option", { value: "" }, t("allAgencies")),
      ...Object.keys(state.names.agencies).map((code) =>
        el("option", { value: code }, agencyName(code) + " (" + code + ")")),
    );
    agency.value = state.agency;
    const procedure = $("filter-procedure");
    const codes = [...new Set(state.names.procedures.map((p) => p.code))];
    procedure.replaceChildren(
      el("option", { value: "" }, t("allProcedures")),
      ...codes.map((code) => el("option", { value: code }, code + " · " + procedureName(code))),
    );
    procedure.value = state.procedure;
  }

  function add(a, b) {
    const sum = {};
    for (const kind of KINDS) sum[kind] = (a?.[kind] ?? 0) + (b?.[kind] ?? 0);
    return sum;
  }

  /** The board's counts, narrowed to the chosen procedure (all its versions) if one is. */
  function narrowed(sla) {
    if (!state.procedure) return { dossiers: sla.dossiers, steps: sla.steps };
    const groups = sla.by_procedure.filter((g) => splitKey(g.key)[0] === state.procedure);
    return {
      dossiers: groups.reduce((sum, g) => add(sum, g.dossiers), add()),
      steps: groups.reduce((sum, g) => add(sum, g.steps), add()),
    };
  }

  function listOf(sla, name) {
    const items = sla[name] ?? [];
    // hand-overs given up belong to no procedure: they are listed whatever the filter
    if (!state.procedure || name === "undeliverable") {
      return { items, total: sla.totals[name] ?? items.length };
    }
    const kept = items.filter((item) => item.procedure === state.procedure);
    const cut = (sla.totals[name] ?? items.length) > items.length;
    return { items: kept, total: cut ? "≥ " + kept.length : kept.length };
  }

  function counts(sla) {
    const { dossiers, steps } = narrowed(sla);
    $("counts").replaceChildren(
      ...KINDS.map((kind) =>
        el("li", { class: kind },
          el("span", { class: "label" }, t(kind)),
          el("span", { class: "value", "data-testid": "count-" + kind.replace("_", "-") },
            number(dossiers[kind])),
          kind === "not_started" // their reception steps run: counted with the others
            ? null
            : el("span", { class: "steps" }, t("stepsLine", { n: number(steps[kind]) })))),
    );
    $("totals").replaceChildren(
      ...["overdue_steps", "apology_due", "repeat_supplements", "undeliverable"].map((name) =>
        el("li", null, t(name) + ": ", el("b", { "data-testid": "total-" + name },
          listOf(sla, name).total))),
    );
  }

  function lists(sla) {
    $("tabs").replaceChildren(
      ...LISTS.map((name) => {
        const button = el("button", {
          type: "button", role: "tab", "aria-selected": String(state.tab === name),
          "data-testid": "tab-" + name,
        }, t(name) + " (" + listOf(sla, name).total + ")");
        button.addEventListener("click", () => {
          state.tab = name;
          lists(state.data.sla);
        });
        return button;
      }),
    );
    const { items, total } = listOf(sla, state.tab);
    const box = $("list");
    if (items.length === 0) {
      box.replaceChildren(el("p", { class: "empty" }, t("none")));
      return;
    }
    const rowId = state.tab.replaceAll("_", "-") + "-row";
    let shown;
    if (state.tab === "undeliverable") {
      shown = table(
        [[t("code")], [t("from")], [t("to")], [t("service")], [t("since")]],
        items.map((h) => el("tr", { "data-testid": rowId },
          el("td", { class: "code", "data-testid": "row-code" }, h.dossier_code),
          el("td", { title: h.from_agency }, agencyName(h.from_agency)),
          el("td", { title: h.to_agency }, agencyName(h.to_agency)),
          el("td", null, h.service),
          el("td", null, instant(h.created_at)))),
      );
    } else {
      // the overdue lists count hours past due; the others hours left (negative: past due)
      const late = state.tab === "overdue" || state.tab === "overdue_steps";
      shown = table(
        [[t("code")], [t("stepAt")], [t("assignee")], [t("due")],
          [t(late ? "hoursOver" : "hoursLeft"), "num", t("workingHours")]],
        items.map((item) => el("tr", { "data-testid": rowId },
          el("td", { class: "code", "data-testid": "row-code" }, item.code),
          el("td", { class: "wide", title: procedureName(item.procedure, item.version) },
            stepName(item.procedure, item.version, item.step),
            el("small", { class: "sub" }, item.procedure + " · " + agencyName(item.agency))),
          el("td", null, item.assignee ?? "—"),
          el("td", { class: "nowrap" }, instant(item.due_at)),
          el("td", { class: "num" }, number(late ? -item.hours : item.hours, 1)))),
      );
    }
    const note = items.length < Number(String(total).replace("≥ ", ""))
      ? el("p", { class: "hint" }, t("shown", { shown: items.length, total }))
      : null;
    box.replaceChildren(shown, note ?? "");
  }

  /** Red (none on time) through amber to green (all on time). */
  function colour(rate) {
    const hue = Math.round(rate * 120);
    const light = 78 - Math.round(6 * Math.sin(rate * Math.PI));
    return "hsl(" + hue + ", " + Math.round(70 - 25 * rate) + "%, " + light + "%)";
  }

  function heatmap(sla) {
    const cells = sla.cells.filter(
      (c) => !state.procedure || splitKey(c.procedure)[0] === state.procedure);
    const ramp = el("span", { class: "ramp" });
    const stops = [0, 0.25, 0.5, 0.75, 1].map((rate) => colour(rate)).join(", ");
    ramp.style.background = "linear-gradient(90deg, " + stops + ")";
    $("legend").replaceChildren(el("span", null, t("legendLow")), ramp,
      el("span", null, t("legendHigh")), el("span", { class: "none" }, t("legendNone")));
    if (cells.length === 0) {
      $("heatmap").replaceChildren(el("p", { class: "empty" }, t("none")));
      return;
    }
    const agencies = [...new Set(cells.map((c) => c.agency))].sort();
    const procedures = [...new Set(cells.map((c) => c.procedure))].sort();
    const byKey = new Map(cells.map((c) => [c.agency + "|" + c.procedure, c]));
    const corner = el("th", { class: "agency" }, t("agency") + " \\ " + t("procedure"));
    const head = el("tr", null, corner,
      procedures.map((key) => {
        const [code, version] = splitKey(key);
        return el("th", { class: "num", title: procedureName(code, version) }, code,
          el("br"), el("small", null, version));
      }));
    const rows = agencies.map((agency) => el("tr", null,
      el("th", { class: "agency" }, agencyName(agency), el("small", null, agency)),
      procedures.map((key) => {
        const cell = byKey.get(agency + "|" + key);
        const open = cell?.dossiers.open ?? 0;
        if (!open) return el("td", { class: "cell none" }, "—");
        const overdue = cell.dossiers.overdue;
        const rate = (open - overdue) / open;
        const td = el("td", {
          class: "cell", "data-testid": "heatmap-cell", "data-agency": agency,
          "data-procedure": key, "data-open": open, "data-overdue": overdue,
          "data-rate": rate.toFixed(4),
          title: agencyName(agency) + " · " + procedureName(...splitKey(key)),
        }, share(rate), el("small", null, number(open - overdue) + " / " + number(open)));
        td.style.backgroundColor = colour(rate);
        return td;
      })));
    $("heatmap").replaceChildren(el("table", { class: "heatmap" },
      el("thead", null, head), el("tbody", null, rows)));
  }

  // ---- charts (inline SVG) -------------------------------------------------------------------

  const WIDTH = 600;

  /** Text cut to about ``room`` pixels of 12px type, with an ellipsis. */
  function fit(text, room) {
    const most = Math.floor(room / 6.6);
    return text.length <= most ? text : text.slice(0, most - 1) + "…";
  }

  function bars(rows, limit, unit, left = 150) {
    const span = WIDTH - left - 70;
    const top = limit === null ? 4 : 16;
    const height = top + rows.length * 22 + 4;
    const max = Math.max(limit ?? 0, ...rows.map((r) => r.value ?? 0)) * 1.1 || 1;
    const x = (value) => left + (span * value) / max;
    const chart = svg("svg", {
      viewBox: "0 0 " + WIDTH + " " + height, role: "img", "font-size": "12",
      "aria-label": rows.map((r) => r.label + " " + unit(r.value)).join("; "),
    });
    rows.forEach((row, i) => {
      const y = top + i * 22;
      const width = Math.max(x(row.value ?? 0) - left, 1);
      const bar = svg("rect", { x: left, y, width, height: 16, class: row.cls ?? "", rx: 2 });
      if (row.colour) bar.setAttribute("fill", row.colour);
      if (row.dim) bar.setAttribute("opacity", "0.35");
      chart.append(
        svg("text", { x: left - 6, y: y + 12, "text-anchor": "end" }, fit(row.label, left - 8),
          svg("title", null, row.label)),
        bar,
        svg("text", { x: x(row.value ?? 0) + 4, y: y + 12 }, unit(row.value)),
      );
    });
    if (limit !== null) {
      chart.append(
        svg("line", { x1: x(limit), x2: x(limit), y1: 12, y2: height, class: "limit" }),
        svg("text", { x: x(limit), y: 10, "text-anchor": "middle" },
          t("limit", { days: days(limit) })),
      );
    }
    return chart;
  }

  function stacked(parts) {
    const chart = svg("svg", { viewBox: "0 0 " + WIDTH + " 18", role: "img",
      "aria-label": parts.map((p) => p.label + " " + share(p.share)).join("; ") });
    let x = 0;
    for (const part of parts) {
      const width = WIDTH * part.share;
      const rect = svg("rect", { x, y: 0, width: Math.max(width, 0), height: 18,
        fill: part.colour });
      if (part.dim) rect.setAttribute("opacity", "0.35");
      rect.append(svg("title", null, part.label + ": " + share(part.share)));
      chart.append(rect);
      x += width;
    }
    return chart;
  }

  function swatches(parts) {
    return el("ul", { class: "swatches" }, parts.map((part) => {
      const mark = el("i");
      mark.style.background = part.colour;
      if (part.dim) mark.style.opacity = "0.35";
      return el("li", null, mark, part.label + " · " + days(part.days) + " · " + share(part.share));
    }));
  }

  function goalText(p) {
    let text = t("goal_" + p.goal);
    if (p.reduction !== null && p.baseline_days !== null) {
      const reduction = { value: share(p.reduction), baseline: days(p.baseline_days) };
      text += " (" + t("reduction", reduction) + ")";
    }
    return text;
  }

  function charts(processing) {
    const period = processing.start || processing.end
      ? [processing.start, processing.end].map((v) => (v ? day(v) : "…")).join(" – ")
      : t("wholeHistory");
    $("metrics-period").textContent = t("metricsPeriod", { period });
    const blocks = processing.procedures.filter((p) => p.finished > 0).map((p) => {
      const parts = p.steps.map((s, i) => ({
        label: stepName(p.procedure, p.version, s.step) + " (" + agencyName(s.agency) + ")",
        share: s.share, days: s.mean_days, colour: PALETTE[i % PALETTE.length],
        dim: Boolean(state.agency) && s.agency !== state.agency,
      }));
      const title = procedureName(p.procedure, p.version) + " (" + p.procedure + ", " +
        p.version + ")";
      return el("figure", { class: "chart", "data-testid": "metrics-" + p.procedure },
        el("h3", null, title),
        bars([
          { label: t("median"), value: p.median_days, cls: "median" },
          { label: t("p90"), value: p.p90_days, cls: "p90" },
        ], p.limit_days, days),
        el("p", { class: "facts", "data-testid": "metrics-facts" }, t("facts", {
          finished: number(p.finished), rate: share(p.on_time_rate), late: number(p.late),
          goal: goalText(p),
        })),
        el("h3", null, t("whereTime")),
        stacked(parts),
        swatches(parts));
    });
    if (blocks.length === 0) {
      $("metrics").replaceChildren(el("p", { class: "empty" }, t("noMetrics")));
      return;
    }
    const agencies = processing.agencies.map((a) => ({
      label: agencyName(a.agency), value: a.mean_days, cls: "median",
      dim: Boolean(state.agency) && a.agency !== state.agency,
    }));
    const perAgency = agencies.length
      ? el("figure", { class: "chart" }, el("h3", null, t("agencyTime")),
        bars(agencies, null, days, 240))
      : null;
    $("metrics").replaceChildren(...blocks, perAgency ?? "");
  }

  function sparkline(indicator) {
    const width = 120;
    const height = 28;
    const points = indicator.trend;
    const values = points.map((p) => p.value).filter((v) => v !== null);
    const max = Math.max(1, indicator.target, ...values);
    const x = (i) => (points.length < 2 ? width / 2 : 2 + (i * (width - 4)) / (points.length - 1));
    const y = (v) => height - 3 - (v / max) * (height - 6);
    const chart = svg("svg", { viewBox: "0 0 " + width + " " + height, width, height, role: "img",
      "aria-label": points.map((p) => p.month + " " + share(p.value)).join("; ") });
    chart.append(svg("line", { x1: 0, x2: width, y1: y(indicator.target), y2: y(indicator.target),
      class: "target" }));
    let path = "";
    points.forEach((p, i) => {
      if (p.value === null) return;
      const previous = i > 0 && points[i - 1].value !== null;
      path += (previous ? " L" : " M") + x(i).toFixed(1) + " " + y(p.value).toFixed(1);
      const dot = svg("circle", { cx: x(i), cy: y(p.value), r: 2.2 });
      dot.append(svg("title", null, p.month + ": " + share(p.value) + " (" + p.numerator + "/" +
        p.denominator + ")"));
      chart.append(dot);
    });
    if (path) chart.append(svg("path", { d: path.trim(), class: "trend" }));
    return chart;
  }

  function indicators(scorecard) {
    $("scorecard-period").textContent = t("scorecardPeriod", {
      period: day(scorecard.start) + " – " + day(scorecard.end),
    });
    const verdict = (met) => (met === null ? "unknown" : met ? "yes" : "no");
    $("scorecard").replaceChildren(table(
      [[t("indicator")], [t("value"), "num"], [t("target"), "num"], [t("verdict")],
        [t("counted"), "num"], [t("trend")]],
      scorecard.indicators.map((i) => el("tr", { "data-testid": "scorecard-row" },
        el("td", null, state.lang === "vi" ? i.name_vi : i.name_en),
        el("td", { class: "num", "data-testid": "scorecard-value-" + i.key,
          "data-value": i.value ?? "" }, share(i.value)),
        el("td", { class: "num" }, "≥ " + share(i.target)),
        el("td", { class: "met " + verdict(i.met), "data-testid": "scorecard-met-" + i.key },
          t("met_" + verdict(i.met))),
        el("td", { class: "num" }, number(i.numerator) + " / " + number(i.denominator)),
        el("td", null, sparkline(i)))),
    ));
  }

  // ---- wiring -------------------------------------------------------------------------------

  function start() {
    $("login-form").addEventListener("submit", login);
    $("logout").addEventListener("click", () => logout(""));
    $("lang").addEventListener("click", () => {
      state.lang = state.lang === "vi" ? "en" : "vi";
      localStorage.setItem(LANG_KEY, state.lang);
      render();
    });
    $("filter-agency").addEventListener("change", (event) => {
      state.agency = event.target.value;
      load();
    });
    $("filter-procedure").addEventListener("change", (event) => {
      state.procedure = event.target.value;
      load();
    });
    $("filters").addEventListener("submit", (event) => event.preventDefault());
    labels();
    if (state.token) {
      $("updated").textContent = t("loading");
      load();
    } else {
      logout("");
    }
  }

  start();
})();
