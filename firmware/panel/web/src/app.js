// The installer's page: every action goes through the panel's public API
// (spec/basip-api.md, spec/redirectrules-api.md) with a Bearer token kept in
// sessionStorage only; the password is hashed (md5) here and never stored.
"use strict";
(function () {
var $ = function (id) { return document.getElementById(id); };

// ---- md5 (RFC 1321) of a UTF-8 string, as 32 lower-case hex digits ----
function md5(text) {
  var bytes = unescape(encodeURIComponent(text)), n = bytes.length, words = [], i;
  for (i = 0; i < n; i++) words[i >> 2] |= bytes.charCodeAt(i) << ((i % 4) * 8);
  words[n >> 2] |= 0x80 << ((n % 4) * 8);
  var count = (((n + 8) >> 6) + 1) * 16;
  for (i = (n >> 2) + 1; i < count; i++) words[i] = words[i] | 0;
  words[count - 2] = n * 8;
  var S = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21], K = [];
  for (i = 0; i < 64; i++) K[i] = Math.floor(Math.abs(Math.sin(i + 1)) * 4294967296) | 0;
  var a0 = 0x67452301, b0 = 0xefcdab89 | 0, c0 = 0x98badcfe | 0, d0 = 0x10325476;
  for (var block = 0; block < count; block += 16) {
    var a = a0, b = b0, c = c0, d = d0;
    for (i = 0; i < 64; i++) {
      var f, g, round = i >> 4;
      if (round === 0) { f = (b & c) | (~b & d); g = i; }
      else if (round === 1) { f = (d & b) | (~d & c); g = (5 * i + 1) % 16; }
      else if (round === 2) { f = b ^ c ^ d; g = (3 * i + 5) % 16; }
      else { f = c ^ (b | ~d); g = (7 * i) % 16; }
      var sum = (a + f + K[i] + (words[block + g] | 0)) | 0, shift = S[round * 4 + (i % 4)];
      a = d; d = c; c = b;
      b = (b + ((sum << shift) | (sum >>> (32 - shift)))) | 0;
    }
    a0 = (a0 + a) | 0; b0 = (b0 + b) | 0; c0 = (c0 + c) | 0; d0 = (d0 + d) | 0;
  }
  var hex = "";
  [a0, b0, c0, d0].forEach(function (word) {
    for (var k = 0; k < 4; k++) hex += ((word >>> (k * 8)) & 255).toString(16).padStart(2, "0");
  });
  return hex;
}

// ---- languages: English and Russian, following navigator.language ----
var TEXT = {
  en: {},
  ru: {
    title: "Вызывная панель", language: "Язык", logout: "Выйти", login: "Войти", username: "Пользователь",
    password: "Пароль", status: "Состояние", apartments: "Квартиры", redirects: "Переадресация",
    doors: "Двери", settings: "Настройки", log: "Журнал вызовов", latest: "Последние вызовы и события дверей",
    forward_mode: "Режим переадресации", all_at_once: "Все сразу", one_by_one: "По очереди", save: "Сохранить",
    filter: "Фильтр", filter_hint: "223 или forward_number gt 100", apply: "Применить", number: "Номер",
    targets: "Адресаты", actions: "Действия", prev: "Назад", next: "Вперёд", apartment_add: "Добавить квартиру",
    apartment_edit: "Квартира", targets_order: "Адресаты по порядку", target_add: "Добавить адресата",
    target_hint: "101, sip:101@192.168.1.10, laskomex:23, vizit:7", new: "Новая", edit: "Изменить",
    remove: "Удалить", up: "Выше", down: "Ниже", rule_title: "Название", rule_type: "Тип", called: "Вызываемый номер",
    caller: "Номер вызывающего", destination: "Куда", priority: "Приоритет", enabled: "Включено",
    schedule: "Расписание", redirect_add: "Добавить правило", redirect_edit: "Правило",
    t_absolute: "Всегда", t_unregistered: "Не зарегистрирован", t_busy: "Занято", t_reject: "Отклонён",
    t_noanswer: "Нет ответа", t_unavailable: "Недоступен", s_all: "Всегда", s_work: "Рабочее время",
    s_nonwork: "Нерабочее время", s_custom: "Своё (неделя ниже)", week: "Неделя: часы действия правила",
    week_clear: "Очистить", pattern_hint: "112, 2XX, *", identifiers: "Личные коды и карты", id_type: "Тип",
    id_number: "Код или карта", owner: "Владелец", lock: "Замок", identifier_add: "Добавить код или карту",
    personal_code: "Личный код", card: "Карта", both: "Оба", add: "Добавить", sip_account: "Учётная запись SIP",
    sip_enable: "SIP включён", sip_proxy: "Прокси", sip_realm: "Домен", sip_user: "Пользователь",
    sip_user_id: "Пользователь авторизации", sip_transport: "Транспорт", sip_interval: "Интервал регистрации, с",
    sip_outbound: "Исходящий прокси", stun_ip: "Адрес STUN", stun_port: "Порт STUN", timeouts: "Время вызова",
    dial_timeout: "Время набора, с", forwarding_timeout: "На каждого адресата (по очереди), с",
    talk_timeout: "Время разговора, с", time: "Время", timezone: "Часовой пояс", ntp_enabled: "NTP включён",
    ntp_default: "Сервер NTP по умолчанию", ntp_server: "Сервер NTP", event_server: "Сервер событий",
    server: "Сервер", port: "Порт", severity: "Уровень", tag: "Метка", admin_password: "Пароль администратора",
    old_password: "Текущий пароль", new_password: "Новый пароль", repeat_password: "Новый пароль ещё раз",
    event: "Событие", any: "Любое", from: "С", to: "По", when: "Время", details: "Подробности",
    saved: "Сохранено", deleted: "Удалено", opened: "Замок открыт", open_lock: "Открыть замок",
    dtmf: "Код DTMF", open_time: "Время открытия, с", lock_n: "Замок", page: "Страница", of: "из",
    mismatch: "Пароли не совпадают", firmware: "Прошивка", model: "Модель", sip_status: "SIP",
    adapter: "Гибридный адаптер", health: "Здоровье", present: "подключён", absent: "нет", yes: "да", no: "нет",
    none: "Пусто", confirm_delete: "Удалить?", days: "Пн Вт Ср Чт Пт Сб Вс", hour: "час"
  }
};
var EN = {
  saved: "Saved", deleted: "Deleted", opened: "Lock opened", open_lock: "Open the lock", dtmf: "DTMF code",
  open_time: "Open time, s", lock_n: "Lock", page: "Page", of: "of", mismatch: "The passwords differ",
  firmware: "Firmware", model: "Model", sip_status: "SIP", adapter: "Hybrid adapter", health: "Health",
  present: "connected", absent: "none", yes: "yes", no: "no", none: "Nothing yet", edit: "Edit", remove: "Delete",
  up: "Up", down: "Down", apartment_edit: "Apartment", redirect_edit: "Rule", confirm_delete: "Delete?",
  days: "Mon Tue Wed Thu Fri Sat Sun", hour: "hour"
};
var language = "en";
function t(key) {
  var table = TEXT[language] || {};
  if (table[key]) return table[key];
  if (EN[key]) return EN[key];
  var element = document.querySelector('[data-i="' + key + '"]');
  return element ? element.getAttribute("data-en") || element.textContent : key;
}
function setLanguage(name) {
  language = TEXT[name] ? name : "en";
  document.documentElement.lang = language;
  $("lang").value = language;
  try { sessionStorage.setItem("language", language); } catch (e) { /* private mode */ }
  document.querySelectorAll("[data-i]").forEach(function (element) {
    if (!element.hasAttribute("data-en")) element.setAttribute("data-en", element.textContent);
    var key = element.getAttribute("data-i");
    element.textContent = language === "en" ? element.getAttribute("data-en") : (TEXT.ru[key] || element.getAttribute("data-en"));
  });
  document.querySelectorAll("[data-ph]").forEach(function (element) {
    if (!element.hasAttribute("data-ph-en")) element.setAttribute("data-ph-en", element.placeholder);
    var key = element.getAttribute("data-ph");
    element.placeholder = language === "en" ? element.getAttribute("data-ph-en") : (TEXT.ru[key] || element.getAttribute("data-ph-en"));
  });
  buildWeek();
  if (token()) showTab(currentTab);
}

// ---- the API ----
function token() { return sessionStorage.getItem("token"); }
function errorText(status, data) {
  if (data && typeof data.error === "string") return data.error;
  if (data && data.error_message) {
    var details = data.error_details || {}, where = details.field || details.parameter;
    return data.error_message + (where ? " (" + where + ")" : "");
  }
  return "HTTP " + status;
}
function api(method, path, body) {
  var headers = {};
  if (token()) headers.Authorization = "Bearer " + token();
  if (body !== undefined) headers["Content-Type"] = "application/json";
  return fetch(path, { method: method, headers: headers, body: body === undefined ? undefined : JSON.stringify(body) })
    .then(function (response) {
      return response.text().then(function (raw) {
        var data = null;
        try { data = raw ? JSON.parse(raw) : null; } catch (e) { data = null; }
        if (response.status === 401 && path.indexOf("/api/v1/login") !== 0) { forget(); }
        if (!response.ok) { var error = new Error(errorText(response.status, data)); error.status = response.status; throw error; }
        return data;
      });
    });
}
function report(target) {
  return function (error) { $(target).textContent = error.message; };
}
function notice(text) {
  $("notice").textContent = text;
  setTimeout(function () { if ($("notice").textContent === text) $("notice").textContent = ""; }, 4000);
}
function clear(id) { $(id).textContent = ""; }
function cell(row, text, label) {
  var td = document.createElement("td");
  td.textContent = text;
  if (label) td.setAttribute("data-label", label);
  row.appendChild(td);
  return td;
}
function button(text, onClick, className, label) {
  var element = document.createElement("button");
  element.type = "button";
  element.textContent = text;
  if (className) element.className = className;
  if (label) element.setAttribute("aria-label", label);
  element.addEventListener("click", onClick);
  return element;
}
function query(params) {
  return Object.keys(params).filter(function (k) { return params[k] !== "" && params[k] !== undefined; })
    .map(function (k) { return encodeURIComponent(k) + "=" + encodeURIComponent(params[k]); }).join("&");
}

// ---- log in and out ----
function forget() {
  sessionStorage.removeItem("token");
  $("app-view").hidden = true;
  $("login-view").hidden = false;
  $("logout").hidden = true;
  stopRefresh();
}
function enter() {
  $("login-view").hidden = true;
  $("app-view").hidden = false;
  $("logout").hidden = false;
  showTab(currentTab);
}
$("login-form").addEventListener("submit", function (event) {
  event.preventDefault();
  clear("login-error");
  var password = $("login-password").value;
  api("GET", "/api/v1/login?" + query({ username: $("login-user").value, password: md5(password) }))
    .then(function (data) {
      sessionStorage.setItem("token", data.token);
      $("login-password").value = "";
      enter();
    }, report("login-error"));
});
$("logout").addEventListener("click", function () {
  api("GET", "/api/v1/logout").then(forget, forget);
});

// ---- tabs ----
var currentTab = "status", refreshTimer = null;
function stopRefresh() { if (refreshTimer) { clearInterval(refreshTimer); refreshTimer = null; } }
var loaders = {};
function showTab(name) {
  currentTab = name;
  document.querySelectorAll("[data-tab]").forEach(function (tab) {
    var selected = tab.getAttribute("data-tab") === name;
    tab.setAttribute("aria-selected", selected ? "true" : "false");
    tab.tabIndex = selected ? 0 : -1;
    $("tab-" + tab.getAttribute("data-tab")).hidden = !selected;
  });
  stopRefresh();
  loaders[name]();
  if (name === "status") refreshTimer = setInterval(loaders.status, 5000);
}
document.querySelectorAll("[data-tab]").forEach(function (tab, index, all) {
  tab.addEventListener("click", function () { showTab(tab.getAttribute("data-tab")); });
  tab.addEventListener("keydown", function (event) {
    var step = event.key === "ArrowRight" ? 1 : event.key === "ArrowLeft" ? -1 : 0;
    if (!step) return;
    var next = all[(index + step + all.length) % all.length];
    next.focus();
    showTab(next.getAttribute("data-tab"));
  });
});

// ---- status ----
function describeEvent(item) {
  var when = new Date(item.timestamp).toLocaleString(language);
  var info = item.info || {};
  var extra = Object.keys(info).map(function (k) { return k + "=" + info[k]; }).join(", ");
  return when + " " + (item.name.text || item.name.key) + (extra ? " (" + extra + ")" : "");
}
function fact(list, name, value, good) {
  var dt = document.createElement("dt"), dd = document.createElement("dd");
  dt.textContent = name;
  dd.textContent = value;
  if (good !== undefined) dd.className = good ? "good" : "bad";
  list.appendChild(dt);
  list.appendChild(dd);
}
loaders.status = function () {
  Promise.all([
    api("GET", "/api/info"), api("GET", "/api/v1/sip/status"), api("GET", "/api/v1/hybrid/state"),
    api("GET", "/api/v1/system/health"), api("GET", "/api/v1/log/items?limit=30")
  ]).then(function (answers) {
    var info = answers[0], sip = answers[1], hybrid = answers[2], health = answers[3], log = answers[4];
    var list = $("status-list");
    list.textContent = "";
    fact(list, t("model"), info.device_name + " (" + info.device_model + ")");
    fact(list, t("firmware"), info.firmware_version + " " + (info.commit || ""));
    fact(list, t("sip_status"), sip.sip_status, sip.sip_status === "OK");
    fact(list, t("adapter"), hybrid.present ? t("present") + " " + (hybrid.version || "") : t("absent"), !!hybrid.present);
    var healthy = health && (health.ok === undefined ? true : !!health.ok);
    fact(list, t("health"), health.status || (healthy ? "ok" : "problem"), healthy);
    var events = $("status-events");
    events.textContent = "";
    var shown = (log.list_items || []).filter(function (item) {
      var key = item.name.key;
      return key.indexOf("call") >= 0 || key.indexOf("access") === 0 || key.indexOf("door") >= 0;
    }).slice(0, 10);
    if (!shown.length) { var li = document.createElement("li"); li.textContent = t("none"); events.appendChild(li); }
    shown.forEach(function (item) {
      var li = document.createElement("li");
      li.textContent = describeEvent(item);
      events.appendChild(li);
    });
  }, function (error) { $("status-list").textContent = error.message; });
};

// ---- apartments (forward rules) ----
var apartmentPage = 1, apartmentPages = 1;
function apartmentFilter() {
  var text = $("apartment-filter-text").value.trim();
  if (!text) return "";
  return /^\d+$/.test(text) ? "forward_number eq " + text : text;
}
loaders.apartments = function () {
  clear("apartment-list-error");
  api("GET", "/api/v1/forward/mode").then(function (data) { $("forward-mode").value = data.forward_mode; }, report("apartment-list-error"));
  api("GET", "/api/v1/forward/items?" + query({ limit: 10, page_number: apartmentPage, filter: apartmentFilter() }))
    .then(function (data) {
      var rows = $("apartment-rows");
      rows.textContent = "";
      var pagination = data.list_option.pagination;
      apartmentPages = pagination.total_pages;
      $("apartment-page").textContent = t("page") + " " + pagination.current_page + " " + t("of") + " " + pagination.total_pages;
      $("apartment-prev").disabled = apartmentPage <= 1;
      $("apartment-next").disabled = apartmentPage >= apartmentPages;
      data.list_items.forEach(function (item) {
        var row = document.createElement("tr");
        row.setAttribute("data-number", item.forward_number);
        cell(row, item.forward_number, t("number"));
        cell(row, item.forward_entity_list.join(", "), t("targets"));
        var actions = cell(row, "");
        actions.className = "actions";
        actions.appendChild(button(t("edit"), function () { editApartment(item); }, "", t("edit") + " " + item.forward_number));
        actions.appendChild(button(t("remove"), function () {
          if (!confirm(t("confirm_delete"))) return;
          api("DELETE", "/api/v1/forward/item/" + item.forward_number).then(function () { notice(t("deleted")); loaders.apartments(); }, report("apartment-list-error"));
        }, "danger", t("remove") + " " + item.forward_number));
        rows.appendChild(row);
      });
    }, report("apartment-list-error"));
};
$("apartment-prev").addEventListener("click", function () { if (apartmentPage > 1) { apartmentPage--; loaders.apartments(); } });
$("apartment-next").addEventListener("click", function () { if (apartmentPage < apartmentPages) { apartmentPage++; loaders.apartments(); } });
$("apartment-filter").addEventListener("submit", function (event) { event.preventDefault(); apartmentPage = 1; loaders.apartments(); });
$("forward-mode-form").addEventListener("submit", function (event) {
  event.preventDefault();
  api("POST", "/api/v1/forward/mode", { forward_mode: $("forward-mode").value }).then(function () { notice(t("saved")); }, report("apartment-list-error"));
});
function targetRow(value) {
  var list = $("apartment-targets"), li = document.createElement("li"), input = document.createElement("input");
  input.value = value || "";
  input.className = "target";
  li.appendChild(input);
  li.appendChild(button("\u2191", function () { if (li.previousSibling) list.insertBefore(li, li.previousSibling); input.focus(); }, "", t("up")));
  li.appendChild(button("\u2193", function () { if (li.nextSibling) list.insertBefore(li.nextSibling, li); input.focus(); }, "", t("down")));
  li.appendChild(button("\u00d7", function () { li.remove(); }, "danger", t("remove")));
  list.appendChild(li);
  relabelTargets();
  return input;
}
function relabelTargets() {
  document.querySelectorAll("#apartment-targets input").forEach(function (input, index) {
    input.setAttribute("aria-label", t("destination") + " " + (index + 1));
  });
}
function editApartment(item) {
  $("apartment-number").value = item ? item.forward_number : "";
  $("apartment-number").readOnly = !!item;
  $("apartment-form-h").textContent = item ? t("apartment_edit") + " " + item.forward_number : t("apartment_add");
  $("apartment-targets").textContent = "";
  clear("apartment-error");
  (item ? item.forward_entity_list : [""]).forEach(function (value) { targetRow(value); });
  if (item) $("apartment-targets").querySelector("input").focus();
}
$("apartment-add-target").addEventListener("click", function () { targetRow("").focus(); });
$("apartment-clear").addEventListener("click", function () { editApartment(null); $("apartment-number").focus(); });
$("apartment-form").addEventListener("submit", function (event) {
  event.preventDefault();
  clear("apartment-error");
  relabelTargets();
  var number = $("apartment-number").value.trim();
  var targets = Array.prototype.map.call(document.querySelectorAll("#apartment-targets input"), function (input) { return input.value.trim(); })
    .filter(function (value) { return value !== ""; });
  api("POST", "/api/v1/forward/item/" + encodeURIComponent(number), { forward_entity_list: targets })
    .then(function () { notice(t("saved")); editApartment(null); loaders.apartments(); }, report("apartment-error"));
});

// ---- redirect rules, with a week of hour cells for the periods ----
var RULES = "/rest/v1/uc/redirectrules", editingRule = null, week = [];
function buildWeek() {
  var grid = $("week"), days = t("days").split(" ");
  var kept = week.slice();
  grid.textContent = "";
  grid.appendChild(document.createElement("span"));
  for (var hour = 0; hour < 24; hour++) {
    var label = document.createElement("span");
    label.className = "hour";
    label.textContent = hour;
    label.setAttribute("aria-hidden", "true");
    grid.appendChild(label);
  }
  week = [];
  days.forEach(function (day, dayIndex) {
    var name = document.createElement("span");
    name.textContent = day;
    grid.appendChild(name);
    for (var h = 0; h < 24; h++) {
      var index = dayIndex * 24 + h;
      var on = !!kept[index];
      week[index] = on;
      (function (index) {
        var cellButton = button("", function () { setHour(index, !week[index]); });
        cellButton.setAttribute("aria-pressed", on ? "true" : "false");
        cellButton.setAttribute("aria-label", day + " " + String(h).padStart(2, "0") + ":00");
        cellButton.setAttribute("data-hour", index);
        grid.appendChild(cellButton);
      })(index);
    }
  });
}
function setHour(index, on) {
  week[index] = on;
  var element = document.querySelector('#week [data-hour="' + index + '"]');
  if (element) element.setAttribute("aria-pressed", on ? "true" : "false");
  if (on) $("redirect-schedule").value = "custom";
}
function periodsFromWeek() {
  // Each run of marked hours on one day is one period (spec 2.6).
  var periods = [];
  for (var day = 0; day < 7; day++) {
    var start = -1;
    for (var hour = 0; hour <= 24; hour++) {
      var on = hour < 24 && week[day * 24 + hour];
      if (on && start < 0) start = hour;
      if (!on && start >= 0) {
        periods.push({ daystart: day + 1, timestart: start * 60, daystop: day + 1, timestop: hour * 60 });
        start = -1;
      }
    }
  }
  return periods;
}
function weekFromPeriods(periods) {
  for (var index = 0; index < 168; index++) {
    var minute = index * 60, on = false;
    (periods || []).forEach(function (p) {
      var start = (p.daystart - 1) * 1440 + p.timestart, stop = (p.daystop - 1) * 1440 + p.timestop;
      var length = ((stop - start) % 10080 + 10080) % 10080;
      var offset = ((minute - start) % 10080 + 10080) % 10080;
      if (length === 0 || offset < length) on = true;
    });
    week[index] = on;
  }
  buildWeek();
}
$("week-clear").addEventListener("click", function () { weekFromPeriods([]); });
loaders.redirects = function () {
  clear("redirect-list-error");
  api("GET", RULES).then(function (rules) {
    var rows = $("redirect-rows");
    rows.textContent = "";
    rules.forEach(function (rule) {
      var row = document.createElement("tr");
      row.setAttribute("data-id", rule.id);
      cell(row, rule.opts && rule.opts.title || "", t("rule_title"));
      cell(row, rule.type, t("rule_type"));
      cell(row, rule.filter_number, t("called"));
      cell(row, rule.tran_number, t("destination"));
      var enabledCell = cell(row, "", t("enabled")), box = document.createElement("input");
      box.type = "checkbox";
      box.checked = rule.enabled === 1;
      box.setAttribute("aria-label", t("enabled") + " " + (rule.opts && rule.opts.title || rule.filter_number));
      box.addEventListener("change", function () {
        api("PATCH", RULES + "/" + rule.id, { enabled: box.checked ? 1 : 0 }).then(function () { notice(t("saved")); }, function (error) {
          box.checked = !box.checked; report("redirect-list-error")(error);
        });
      });
      enabledCell.appendChild(box);
      var actions = cell(row, "");
      actions.className = "actions";
      actions.appendChild(button(t("edit"), function () {
        api("GET", RULES + "/" + rule.id).then(editRule, report("redirect-list-error"));
      }, "", t("edit") + " " + rule.filter_number));
      actions.appendChild(button(t("remove"), function () {
        if (!confirm(t("confirm_delete"))) return;
        api("DELETE", RULES + "/" + rule.id).then(function () { notice(t("deleted")); loaders.redirects(); }, report("redirect-list-error"));
      }, "danger", t("remove") + " " + rule.filter_number));
      rows.appendChild(row);
    });
  }, report("redirect-list-error"));
};
function editRule(rule) {
  editingRule = rule ? rule.id : null;
  rule = rule || { type: "absolute", filter_number: "", filter_fromnumber: "", tran_number: "", priority: 100, enabled: 1, schedule: "all", periods: [], opts: { title: "" } };
  $("redirect-form-h").textContent = editingRule ? t("redirect_edit") + " " + rule.filter_number : t("redirect_add");
  $("redirect-title").value = rule.opts.title || "";
  $("redirect-type").value = rule.type;
  $("redirect-filter").value = rule.filter_number;
  $("redirect-from").value = rule.filter_fromnumber;
  $("redirect-tran").value = rule.tran_number;
  $("redirect-priority").value = rule.priority;
  $("redirect-enabled").checked = rule.enabled === 1;
  $("redirect-schedule").value = rule.schedule;
  weekFromPeriods(rule.periods);
  clear("redirect-error");
}
$("redirect-clear").addEventListener("click", function () { editRule(null); });
$("redirect-form").addEventListener("submit", function (event) {
  event.preventDefault();
  clear("redirect-error");
  var priority = parseInt($("redirect-priority").value, 10);
  var rule = {
    type: $("redirect-type").value, filter_number: $("redirect-filter").value.trim(),
    filter_fromnumber: $("redirect-from").value.trim(), tran_number: $("redirect-tran").value.trim(),
    priority: isNaN(priority) ? 100 : priority, enabled: $("redirect-enabled").checked ? 1 : 0,
    schedule: $("redirect-schedule").value, periods: periodsFromWeek(), opts: { title: $("redirect-title").value }
  };
  var request = editingRule ? api("PATCH", RULES + "/" + editingRule, rule) : api("POST", RULES, rule);
  request.then(function () { notice(t("saved")); editRule(null); loaders.redirects(); }, report("redirect-error"));
});

// ---- doors and access ----
var LOCK = "/api/v1/access/general/lock/";
function lockCard(number) {
  var card = document.createElement("form");
  card.className = "card";
  card.id = "lock-" + number;
  card.innerHTML = '<h3></h3><button type="button" class="open"></button>' +
    '<label><span class="dtmf-l"></span><input class="dtmf" maxlength="4"></label>' +
    '<label><span class="time-l"></span><input class="time" type="number" min="1" max="40"></label>' +
    '<button type="submit"></button>';
  card.querySelector("h3").textContent = t("lock_n") + " " + number;
  card.querySelector(".open").textContent = t("open_lock");
  card.querySelector(".open").id = "open-lock-" + number;
  card.querySelector(".dtmf-l").textContent = t("dtmf");
  card.querySelector(".time-l").textContent = t("open_time");
  card.querySelector("[type=submit]").textContent = t("save");
  card.querySelector(".open").addEventListener("click", function () {
    clear("doors-error");
    api("GET", LOCK + "open/remote/accepted/" + number).then(function () { notice(t("opened") + " " + number); }, report("doors-error"));
  });
  api("GET", LOCK + "dtmf/" + number).then(function (data) { card.querySelector(".dtmf").value = data.dtmf_code; }, report("doors-error"));
  api("GET", LOCK + "timeout/" + number).then(function (data) { card.querySelector(".time").value = data.lock_timeout; }, report("doors-error"));
  card.addEventListener("submit", function (event) {
    event.preventDefault();
    clear("doors-error");
    api("POST", LOCK + "dtmf/" + number, { dtmf_code: card.querySelector(".dtmf").value })
      .then(function () { return api("POST", LOCK + "timeout/" + number, { lock_timeout: parseInt(card.querySelector(".time").value, 10) }); })
      .then(function () { notice(t("saved")); }, report("doors-error"));
  });
  return card;
}
loaders.doors = function () {
  clear("doors-error");
  var locks = $("locks");
  locks.textContent = "";
  locks.appendChild(lockCard(1));
  locks.appendChild(lockCard(2));
  api("GET", "/api/v1/access/identifier/items?limit=100").then(function (data) {
    var rows = $("identifier-rows");
    rows.textContent = "";
    data.list_items.forEach(function (item) {
      var row = document.createElement("tr");
      cell(row, item.identifier_type === "card" ? t("card") : t("personal_code"), t("id_type"));
      cell(row, item.identifier_number, t("id_number"));
      cell(row, item.identifier_owner && item.identifier_owner.name || "", t("owner"));
      cell(row, item.lock || "", t("lock"));
      cell(row, "").appendChild(button(t("remove"), function () {
        if (!confirm(t("confirm_delete"))) return;
        api("DELETE", "/api/v1/access/identifier/items", { uid_items: [item.identifier_uid] }).then(loaders.doors, report("identifier-error"));
      }, "danger", t("remove") + " " + item.identifier_number));
      rows.appendChild(row);
    });
  }, report("identifier-error"));
};
$("identifier-form").addEventListener("submit", function (event) {
  event.preventDefault();
  clear("identifier-error");
  api("POST", "/api/v1/access/identifier", {
    identifier_number: $("identifier-number").value.trim(), identifier_type: $("identifier-type").value,
    identifier_owner: { name: $("identifier-owner").value, type: "owner" }, lock: $("identifier-lock").value
  }).then(function () { notice(t("saved")); $("identifier-number").value = ""; loaders.doors(); }, report("identifier-error"));
});

// ---- settings ----
function integer(id) { var value = parseInt($(id).value, 10); return isNaN(value) ? $(id).value : value; }
loaders.settings = function () {
  api("GET", "/api/v1/device/sip/settings").then(function (sip) {
    $("sip-proxy").value = sip.proxy; $("sip-realm").value = sip.realm; $("sip-user").value = sip.user;
    $("sip-password").value = sip.password; $("sip-user-id").value = sip.user_id; $("sip-transport").value = sip.transport;
    $("sip-interval").value = sip.registration_interval; $("sip-outbound").value = sip.outbound || "";
    $("sip-stun-ip").value = sip.stun.ip; $("sip-stun-port").value = sip.stun.port;
  }, report("sip-error"));
  api("GET", "/api/v1/device/sip/enable").then(function (data) { $("sip-enable").checked = data.sip_enable; }, report("sip-error"));
  api("GET", "/api/v1/device/call/dial/timeout").then(function (data) {
    $("dial-timeout").value = data.dial_timeout; $("forwarding-timeout").value = data.forwarding_timeout;
  }, report("timeouts-error"));
  api("GET", "/api/v1/device/call/talk/timeout").then(function (data) { $("talk-timeout").value = data.talk_timeout; }, report("timeouts-error"));
  api("GET", "/api/v1/network/timezone").then(function (data) { $("timezone").value = data.timezone; }, report("time-error"));
  api("GET", "/api/v1/network/ntp").then(function (data) {
    $("ntp-enabled").checked = data.enabled; $("ntp-default").checked = data.use_default; $("ntp-server").value = data.custom_server;
  }, report("time-error"));
  api("GET", "/api/v1/syslog/settings").then(function (data) {
    $("syslog-enabled").checked = data.enabled; $("syslog-server").value = data.server.server; $("syslog-port").value = data.server.port;
    $("syslog-severity").value = data.server.severity; $("syslog-tag").value = data.tag; $("syslog-transport").value = data.transport;
  }, report("syslog-error"));
};
function saveAll(errorId, requests) {
  clear(errorId);
  return requests.reduce(function (chain, next) { return chain.then(next); }, Promise.resolve())
    .then(function () { notice(t("saved")); }, report(errorId));
}
$("sip-form").addEventListener("submit", function (event) {
  event.preventDefault();
  saveAll("sip-error", [
    function () {
      return api("POST", "/api/v1/device/sip/settings", {
        proxy: $("sip-proxy").value, realm: $("sip-realm").value, user: $("sip-user").value, password: $("sip-password").value,
        user_id: $("sip-user-id").value, transport: $("sip-transport").value, registration_interval: integer("sip-interval"),
        outbound: $("sip-outbound").value, stun: { ip: $("sip-stun-ip").value, port: integer("sip-stun-port") }
      });
    },
    function () { return api("POST", "/api/v1/device/sip/enable", { sip_enable: $("sip-enable").checked }); }
  ]);
});
$("timeouts-form").addEventListener("submit", function (event) {
  event.preventDefault();
  saveAll("timeouts-error", [
    function () { return api("POST", "/api/v1/device/call/dial/timeout", { dial_timeout: integer("dial-timeout"), forwarding_timeout: integer("forwarding-timeout") }); },
    function () { return api("POST", "/api/v1/device/call/talk/timeout", { talk_timeout: integer("talk-timeout") }); }
  ]);
});
$("time-form").addEventListener("submit", function (event) {
  event.preventDefault();
  saveAll("time-error", [
    function () { return api("POST", "/api/v1/network/timezone", { timezone: $("timezone").value.trim() }); },
    function () { return api("POST", "/api/v1/network/ntp", { enabled: $("ntp-enabled").checked, use_default: $("ntp-default").checked, custom_server: $("ntp-server").value.trim() }); }
  ]);
});
$("syslog-form").addEventListener("submit", function (event) {
  event.preventDefault();
  saveAll("syslog-error", [function () {
    return api("POST", "/api/v1/syslog/settings", {
      enabled: $("syslog-enabled").checked, tag: $("syslog-tag").value, transport: $("syslog-transport").value,
      server: { server: $("syslog-server").value.trim(), port: integer("syslog-port"), severity: integer("syslog-severity") }
    });
  }]);
});
$("password-form").addEventListener("submit", function (event) {
  event.preventDefault();
  clear("password-error");
  if ($("new-password").value !== $("repeat-password").value) { $("password-error").textContent = t("mismatch"); return; }
  api("POST", "/api/v1/security/password/admin", { old_password: $("old-password").value, new_password: $("new-password").value })
    .then(function () { notice(t("saved")); $("password-form").reset(); }, report("password-error"));
});

// ---- call log ----
var logPage = 1, logPages = 1, EVENTS = ["incoming_call", "outgoing_call", "outgoing_call_missed", "access_granted_by_call_host",
  "access_granted_by_api_call", "access_granted_by_personal_code", "access_granted_by_exit_button", "access_denied",
  "sip_registration_lost", "device_booted", "successful_login_api_call", "incorrect_login_api_call"];
EVENTS.forEach(function (name) {
  var option = document.createElement("option");
  option.value = name; option.textContent = name;
  $("log-name").appendChild(option);
});
function seconds(id) { var value = $(id).value; return value ? Math.floor(new Date(value).getTime() / 1000) : ""; }
loaders.log = function () {
  clear("log-error");
  var name = $("log-name").value;
  api("GET", "/api/v1/log/items?" + query({
    limit: 20, page_number: logPage, filter: name ? "name eq '" + name + "'" : "", from: seconds("log-from"), to: seconds("log-to")
  })).then(function (data) {
    var rows = $("log-rows"), pagination = data.list_option.pagination;
    rows.textContent = "";
    logPages = pagination.total_pages;
    $("log-page").textContent = t("page") + " " + pagination.current_page + " " + t("of") + " " + pagination.total_pages;
    $("log-prev").disabled = logPage <= 1;
    $("log-next").disabled = logPage >= logPages;
    data.list_items.forEach(function (item) {
      var row = document.createElement("tr"), info = item.info || {};
      row.setAttribute("data-key", item.name.key);
      cell(row, new Date(item.timestamp).toLocaleString(language), t("when"));
      cell(row, item.name.text || item.name.key, t("event"));
      cell(row, Object.keys(info).map(function (k) { return k + ": " + info[k]; }).join(", "), t("details"));
      rows.appendChild(row);
    });
  }, report("log-error"));
};
$("log-filter").addEventListener("submit", function (event) { event.preventDefault(); logPage = 1; loaders.log(); });
$("log-prev").addEventListener("click", function () { if (logPage > 1) { logPage--; loaders.log(); } });
$("log-next").addEventListener("click", function () { if (logPage < logPages) { logPage++; loaders.log(); } });

// ---- start ----
$("lang").addEventListener("change", function () { setLanguage($("lang").value); });
var chosen = null;
try { chosen = sessionStorage.getItem("language"); } catch (e) { chosen = null; }
setLanguage(chosen || ((navigator.language || "en").toLowerCase().indexOf("ru") === 0 ? "ru" : "en"));
editApartment(null);
editRule(null);
if (token()) enter();
})();
