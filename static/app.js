/*
 * Phaseboard board behaviour: drag and drop of cards between and within the
 * phase columns (SortableJS), the keyboard path (the htmx-enhanced "Move to"
 * form in every card, plus Alt+Arrow keys on a focused card), error messages
 * in #flash and announcements in #announcer.
 *
 * Plain JavaScript, no build step. Loaded with `defer` after htmx.min.js and
 * Sortable.min.js. The DOM it works on is rendered by the templ views:
 *
 *   body[hx-headers='{"X-CSRF-Token":"..."}']  (or <meta name="csrf-token">)
 *   #flash[role=alert][hidden]  #announcer[aria-live=polite]
 *   .board > section.column > ol.cards[data-drop-url][data-drop-name][data-drop-value]
 *     > li.card#card-ID[data-id]  (contains form.move-form)
 *     > li.load-more              (never draggable, never counted)
 *   .drop-bar ol.cards[data-drop-*]  (won and lost targets, shown while dragging)
 *
 * A move POSTs the target list's drop field (phase_id=ID on the pipeline
 * board, month=YYYY-MM on the forecast board), after_id, before_id,
 * from_count, to_count, source (drag | keyboard | form), the card's version
 * (li.card[data-version]) and from_phase (the list it left) to the list's
 * data-drop-url, {id} replaced by the card's id. A list without a drop URL
 * takes no drops. placed=1 says the card stays where it was dropped. The 2xx
 * answer holds out-of-band fragments that htmx swaps in: with placed=1 the
 * card and both column headers, else both columns; and #announcer;
 * a 4xx/5xx answer is a short text/plain message: the card goes back where it
 * was and the message is shown in #flash. A 409 with X-Phaseboard-Message is
 * a move from a stale view: its HTML re-renders the columns as they are (the
 * card where it really is) and the message says who changed it.
 *
 * Events for tests and other scripts, dispatched on document:
 *   board:move-done   detail {id, source}           after a successful move
 *   board:move-failed detail {id, source, message}  after a failed move
 */
(function () {
  'use strict';

  if (typeof window.htmx === 'undefined' || typeof window.Sortable === 'undefined') {
    console.error('app.js: htmx and Sortable must be loaded before app.js');
    return;
  }
  const htmx = window.htmx;
  const Sortable = window.Sortable;

  const FLASH_HIDE_MS = 8000;
  const MAX_PLAIN_MESSAGE = 500;
  const MSG_NETWORK_PUT_BACK = 'Could not reach the server; the card was put back.';
  const MSG_NETWORK = 'Could not reach the server. Check your connection and try again.';
  const CARD = 'li.card';
  const LIST = 'ol.cards';

  // ---------------------------------------------------------------- helpers

  /** The CSRF token from body[hx-headers] or <meta name="csrf-token">. */
  function csrfToken() {
    const raw = document.body ? document.body.getAttribute('hx-headers') : null;
    if (raw) {
      try {
        const headers = JSON.parse(raw);
        if (headers && headers['X-CSRF-Token']) return String(headers['X-CSRF-Token']);
      } catch (_) { /* not JSON: fall back to the meta tag */ }
    }
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute('content') || '' : '';
  }

  /** Rendered cards of a list, in order (skips Sortable's helper copies). */
  function cardsIn(list) {
    if (!list) return [];
    return Array.prototype.filter.call(list.children, function (el) {
      return el.matches(CARD) && el !== Sortable.ghost && el !== Sortable.clone &&
        el.style.display !== 'none';
    });
  }

  function loadMoreOf(list) {
    return list.querySelector(':scope > .load-more');
  }

  /** Ids of the cards just before and just after `card` in its list ('' at an end). */
  function neighbours(card) {
    const cards = cardsIn(card.parentElement);
    const i = cards.indexOf(card);
    return {
      afterId: i > 0 ? cards[i - 1].dataset.id || '' : '',
      beforeId: i >= 0 && i < cards.length - 1 ? cards[i + 1].dataset.id || '' : ''
    };
  }

  /** Where a card is now, to put it back there if its move fails. */
  function positionOf(card) {
    const list = card.parentElement;
    const n = neighbours(card);
    return {
      list: list,
      dropValue: list.dataset.dropValue,
      index: cardsIn(list).indexOf(card),
      afterId: n.afterId,
      beforeId: n.beforeId
    };
  }

  function moveURL(card, list) {
    const id = card.dataset.id;
    const template = list && list.dataset.dropUrl;
    if (template) return template.replace('{id}', encodeURIComponent(id));
    const form = card.querySelector('form.move-form');
    if (form && form.getAttribute('action')) return form.getAttribute('action');
    return '/board/activities/' + encodeURIComponent(id) + '/move';
  }

  /** A user-facing message for a failed response. */
  function errorMessage(status, contentType, body) {
    const text = (body || '').trim();
    if (text && /^text\/plain/i.test(contentType || '') && text.length <= MAX_PLAIN_MESSAGE) {
      return text;
    }
    if (status === 401 || status === 403) {
      return 'You are not allowed to do that, or your session has expired. Reload the page and try again.';
    }
    if (status === 404) return 'That item no longer exists. Reload the page.';
    if (status === 409) return 'Someone else changed this at the same time. Reload the page.';
    if (status >= 500) return 'The server had a problem (HTTP ' + status + '). Please try again.';
    return 'The request failed (HTTP ' + status + ').';
  }

  function focusCard(id) {
    const card = document.getElementById('card-' + id);
    if (card) {
      card.focus({ preventScroll: true });
      card.scrollIntoView({ block: 'nearest', inline: 'nearest' });
    }
  }

  function emit(name, detail) {
    document.dispatchEvent(new CustomEvent(name, { detail: detail }));
  }

  // ---------------------------------------------------- flash and announcer

  let flashTimer = 0;

  function hideFlash() {
    const flash = document.getElementById('flash');
    window.clearTimeout(flashTimer);
    if (flash) flash.hidden = true;
  }

  function scheduleHide() {
    window.clearTimeout(flashTimer);
    flashTimer = window.setTimeout(function () {
      const flash = document.getElementById('flash');
      // Keep it while the user is reading it with the pointer or the keyboard.
      if (flash && flash.matches(':hover, :focus-within')) scheduleHide();
      else hideFlash();
    }, FLASH_HIDE_MS);
  }

  /** Shows an error message in #flash (as text, never as HTML). */
  function showFlash(message) {
    const flash = document.getElementById('flash');
    if (!flash) return;
    let text = flash.querySelector('.flash-message');
    if (!text) {
      flash.textContent = '';
      text = document.createElement('span');
      text.className = 'flash-message';
      text.setAttribute('data-testid', 'flash-message');
      const close = document.createElement('button');
      close.type = 'button';
      close.className = 'flash-close';
      // The "×" is drawn by CSS so that #flash's text is the message alone.
      close.setAttribute('aria-label', 'Dismiss message');
      close.addEventListener('click', hideFlash);
      flash.append(text, close);
    }
    text.textContent = message;
    flash.hidden = false;
    scheduleHide();
  }

  /** Says something to screen readers through the polite live region. */
  function announce(message) {
    const announcer = document.getElementById('announcer');
    if (announcer) announcer.textContent = message;
  }

  function fail(message) {
    showFlash(message);
    announce(message);
  }

  // Keep the one live region the page was loaded with (a replaced live region
  // is often not read out): take the text of the server's #announcer
  // fragment, whichever hx-swap-oob style it uses.
  document.addEventListener('htmx:oobBeforeSwap', function (evt) {
    const target = evt.detail.target;
    if (target && target.id === 'announcer' && evt.detail.fragment) {
      evt.detail.shouldSwap = false;
      target.textContent = (evt.detail.fragment.textContent || '').trim();
    }
  });

  // ------------------------------------------------------------ the moves

  /** Cards whose move is in flight; they cannot be dragged or moved again. */
  function setBusy(card, busy) {
    if (busy) {
      card.setAttribute('aria-busy', 'true');
      card.classList.add('is-saving');
    } else {
      card.removeAttribute('aria-busy');
      card.classList.remove('is-saving');
    }
  }

  function isBusy(card) {
    return card.getAttribute('aria-busy') === 'true';
  }

  /** Puts a card back where it was before a failed move. */
  function putBack(card, origin) {
    setBusy(card, false);
    if (!card.isConnected) return; // its columns were re-rendered meanwhile: the server's render stands
    const twin = Array.prototype.find.call(
      document.querySelectorAll(CARD + '#' + CSS.escape(card.id)),
      function (el) { return el !== card; });
    if (twin) { card.remove(); return; } // a re-rendered column already shows it where it is
    let list = origin.list;
    if (!list.isConnected) {
      list = document.querySelector('.board ' + LIST + '[data-drop-value="' + CSS.escape(origin.dropValue || '') + '"]');
    }
    if (!list) return;
    const others = cardsIn(list).filter(function (el) { return el !== card; });
    const ref = others[origin.index] || loadMoreOf(list) || null;
    const hadFocus = document.activeElement === card;
    list.insertBefore(card, ref);
    if (hadFocus) card.focus({ preventScroll: true });
  }

  /**
   * Sends the move of `card`, already placed at its new position in the DOM,
   * to the server; `origin` is where it was (from positionOf).
   */
  async function submitMove(card, origin, source) {
    const list = card.parentElement;
    const id = card.dataset.id;
    const n = neighbours(card);
    const body = new URLSearchParams();
    body.set(list.dataset.dropName || 'phase_id', list.dataset.dropValue || '');
    body.set('after_id', n.afterId);
    body.set('before_id', n.beforeId);
    body.set('from_count', String(cardsIn(origin.list).length));
    body.set('to_count', String(cardsIn(list).length));
    body.set('source', source);
    // The version this page shows and the column it came from: a stale move is refused (409)
    // with the columns as they really are.
    if (card.dataset.version) body.set('version', card.dataset.version);
    body.set('from_phase', origin.list.dataset.dropValue || '');
    // The card stays where it was dropped (not on a won or lost target, which it leaves): the
    // answer then holds the card and both column headers, not both columns.
    if (!card.closest('.drop-bar')) body.set('placed', '1');

    const keepFocus = source === 'keyboard' || card.contains(document.activeElement);
    setBusy(card, true);

    let response;
    let text;
    try {
      response = await fetch(moveURL(card, list), {
        method: 'POST',
        body: body,
        credentials: 'same-origin',
        headers: {
          'X-CSRF-Token': csrfToken(),
          'HX-Request': 'true',
          'HX-Current-URL': window.location.href,
          'Accept': 'text/html'
        }
      });
      text = await response.text();
    } catch (_) {
      putBack(card, origin);
      fail(MSG_NETWORK_PUT_BACK);
      emit('board:move-failed', { id: id, source: source, message: MSG_NETWORK_PUT_BACK });
      return;
    }

    if (response.status === 409 && response.headers.get('X-Phaseboard-Message')) {
      // Moved from a stale view: the answer shows the card where it really is (its column and
      // the ones it was dragged between, re-rendered); this copy goes.
      const message = staleMessage(response.headers.get('X-Phaseboard-Message'));
      setBusy(card, false);
      card.remove();
      htmx.swap(document.body, text, {
        swapStyle: 'none', swapDelay: 0, settleDelay: 0, transition: false, ignoreTitle: true
      });
      fail(message);
      if (keepFocus) focusCard(id);
      emit('board:move-failed', { id: id, source: source, message: message, stale: true });
      return;
    }

    if (!response.ok) {
      const message = errorMessage(response.status, response.headers.get('Content-Type'), text);
      putBack(card, origin);
      fail(message);
      emit('board:move-failed', { id: id, source: source, message: message });
      return;
    }

    // htmx's own redirect headers, and a fetch that was redirected (for
    // example to the login page): follow them like htmx would.
    const hxRedirect = response.headers.get('HX-Redirect') || response.headers.get('HX-Location');
    if (hxRedirect) { window.location.href = hxRedirect.charAt(0) === '{' ? JSON.parse(hxRedirect).path : hxRedirect; return; }
    if (response.headers.get('HX-Refresh') === 'true') { window.location.reload(); return; }
    if (response.redirected) { window.location.href = response.url; return; }

    setBusy(card, false);
    // A card dropped on a won or lost target leaves it: the answer shows the
    // card where it now is (its column, or nowhere when closed deals are
    // filtered out).
    if (card.closest('.drop-bar')) card.remove();
    if (text.trim()) {
      // swapStyle none: only the out-of-band fragments (the card and the
      // column headers, or both columns; #announcer) are applied, by htmx,
      // which also processes the new content (htmx.onLoad below re-creates
      // the sortables).
      htmx.swap(document.body, text, {
        swapStyle: 'none', swapDelay: 0, settleDelay: 0, transition: false, ignoreTitle: true
      });
    }
    if (keepFocus) focusCard(id);
    emit('board:move-done', { id: id, source: source });
  }

  /** The card a "Move to" form (in the panel) moves. */
  function cardOfForm(form) {
    return document.getElementById('card-' + (form.dataset.cardId || ''));
  }

  /** The board list a card moved to by a control goes to: the one of that drop value. */
  function listOfDrop(value) {
    return document.querySelector('.board ' + LIST + '[data-drop-value="' + CSS.escape(String(value)) + '"]');
  }

  // ---------------------------------------------------------- drag and drop

  const dragOrigins = new WeakMap();

  const sortableOptions = {
    group: 'cards',
    draggable: CARD,
    // No drag from the move form and other controls, nor of a card whose
    // move is in flight. preventOnFilter false: the controls keep working.
    filter: '.card-move, input, select, textarea, button, label, [aria-busy="true"]',
    preventOnFilter: false,
    // Slide the other cards aside, unless the user asked for less motion
    // (the browser tests ask for it too: see web/browsertest).
    animation: window.matchMedia('(prefers-reduced-motion: reduce)').matches ? 0 : 150,
    // Mouse/touch events instead of native HTML5 drag and drop: the same in
    // every browser, and automated tests can drive it with the mouse.
    forceFallback: true,
    fallbackOnBody: true,
    fallbackTolerance: 4, // a click (on the title link, say) is not a drag
    delay: 150,
    delayOnTouchOnly: true, // a touch swipe still scrolls the board
    ghostClass: 'sortable-ghost',
    chosenClass: 'sortable-chosen',
    dragClass: 'sortable-drag',
    fallbackClass: 'sortable-fallback',
    scroll: true,
    bubbleScroll: true,
    scrollSensitivity: 80,
    // Sortable (in fallback mode, so on every touch drag) goes on scrolling towards where
    // the finger rested after it has moved away from the edge, often to the board's end: scroll
    // only while the latest finger or pointer position is still at the edge scrolled towards.
    scrollFn: function (dx, dy, evt, latest, el) {
      const p = latest && latest.touches ? latest.touches[0] : latest;
      if (!p || typeof p.clientX !== 'number') return 'continue';
      const r = el === document.scrollingElement
        ? { left: 0, top: 0, right: window.innerWidth, bottom: window.innerHeight }
        : el.getBoundingClientRect();
      const near = sortableOptions.scrollSensitivity;
      const atEdge = (dx > 0 && Math.abs(r.right - p.clientX) <= near) || (dx < 0 && Math.abs(p.clientX - r.left) <= near) ||
        (dy > 0 && Math.abs(r.bottom - p.clientY) <= near) || (dy < 0 && Math.abs(p.clientY - r.top) <= near);
      return atEdge ? 'continue' : 'stop';
    },
    onStart: function (evt) {
      dragOrigins.set(evt.item, positionOf(evt.item));
      document.body.classList.add('is-dragging');
    },
    onMove: function (evt) {
      // Never drop below the "Load more" row.
      if (evt.related && evt.related.classList.contains('load-more')) return -1;
      return true;
    },
    onEnd: function (evt) {
      document.body.classList.remove('is-dragging');
      const card = evt.item;
      const origin = dragOrigins.get(card);
      dragOrigins.delete(card);
      if (!origin || !card.isConnected) return;
      const list = card.parentElement;
      const more = loadMoreOf(list);
      if (more && (more.compareDocumentPosition(card) & Node.DOCUMENT_POSITION_FOLLOWING)) {
        list.insertBefore(card, more);
      }
      const n = neighbours(card);
      if (list === origin.list && n.afterId === origin.afterId && n.beforeId === origin.beforeId) {
        return; // dropped where it was
      }
      submitMove(card, origin, 'drag');
    }
  };

  function initSortables(root) {
    if (!root || root.nodeType !== Node.ELEMENT_NODE) return;
    const lists = [];
    if (root.matches(LIST)) lists.push(root);
    root.querySelectorAll(LIST).forEach(function (el) { lists.push(el); });
    lists.forEach(function (list) {
      if (Sortable.get(list)) return;
      // A list without a drop URL (the forecast board's Overdue) gives cards
      // away but takes none.
      const options = Object.assign({}, sortableOptions, {
        group: { name: 'cards', put: Boolean(list.dataset.dropUrl) }
      });
      Sortable.create(list, options);
    });
    const cards = root.matches(CARD) ? [root] : root.querySelectorAll(CARD);
    cards.forEach(function (card) {
      if (!card.hasAttribute('aria-keyshortcuts')) {
        card.setAttribute('aria-keyshortcuts', 'Alt+ArrowUp Alt+ArrowDown Alt+ArrowLeft Alt+ArrowRight');
      }
    });
  }

  // Runs for the page (htmx:load on body) and for every piece of content
  // htmx swaps in, out-of-band fragments included; Sortable.get() keeps a
  // list from being initialised twice.
  htmx.onLoad(initSortables);
  if (document.readyState !== 'loading') initSortables(document.body);

  // Lists that htmx removes give their Sortable instance up.
  document.addEventListener('htmx:beforeCleanupElement', function (evt) {
    const el = evt.target;
    if (el && el.matches && el.matches(LIST)) {
      const sortable = Sortable.get(el);
      if (sortable) sortable.destroy();
    }
  });

  // ------------------------------------------- keyboard navigation (roving)

  // One Tab stop per column: its current card (or the list itself while it
  // is empty); the other cards and the controls inside cards leave the Tab
  // order, and the arrow keys move between cards instead:
  //   ArrowUp / ArrowDown      previous / next card in the column ("Load more" after the last)
  //   ArrowLeft / ArrowRight   the card at the same height in the previous / next column
  //   Home / End               first / last card of the column
  //   1 … 9                    the first card of column 1 … 9
  //   Enter                    open the card's panel
  //   m                        the card's "Move to" (in the panel)
  //   Alt+Arrow keys           move the card (below)
  //   ?                        the shortcut help
  // Without JavaScript every card and control keeps its own Tab stop.
  const IN_CARD = 'a, button, select, input, textarea, summary, [tabindex]';

  function boardLists(board) {
    return Array.prototype.slice.call((board || document).querySelectorAll('.board ' + LIST));
  }

  /** The focusable items of a list in order: its cards, then its "Load more" button. */
  function itemsOf(list) {
    const items = cardsIn(list);
    const more = loadMoreOf(list);
    const button = more && more.querySelector('button');
    if (button) items.push(button);
    return items;
  }

  /** Makes item the Tab stop of its list. */
  function setStop(list, item) {
    const items = itemsOf(list);
    if (!item || items.indexOf(item) < 0) item = items[0] || null;
    items.forEach(function (el) { el.setAttribute('tabindex', el === item ? '0' : '-1'); });
    if (item) list.removeAttribute('tabindex');
    else list.setAttribute('tabindex', '0'); // an empty column still has its stop
  }

  /** Takes a card's own controls out of the Tab order (unless its actions are open). */
  function quietCard(card) {
    card.querySelectorAll(IN_CARD).forEach(function (el) {
      if (el !== card) el.setAttribute('tabindex', '-1');
    });
  }

  function initRoving(root) {
    if (!root || root.nodeType !== Node.ELEMENT_NODE) return;
    const lists = root.matches(LIST) ? [root] : Array.prototype.slice.call(root.querySelectorAll(LIST));
    if (root.matches(CARD) || root.matches('.load-more')) {
      const list = root.closest(LIST);
      if (list) lists.push(list);
    }
    lists.forEach(function (list) {
      if (!list.closest('.board')) return;
      cardsIn(list).forEach(quietCard);
      const current = itemsOf(list).find(function (el) { return el.getAttribute('tabindex') === '0'; });
      setStop(list, current);
      if (!list.hasAttribute('aria-describedby') && document.getElementById('board-keys')) {
        list.setAttribute('aria-describedby', 'board-keys');
      }
    });
  }
  htmx.onLoad(initRoving);
  if (document.readyState !== 'loading') initRoving(document.body);

  function focusItem(list, item) {
    if (!item) return;
    setStop(list, item);
    item.focus({ preventScroll: true });
    item.scrollIntoView({ block: 'nearest', inline: 'nearest' });
  }

  // Focus moves with the user: whatever card they click or tab to is its
  // column's stop from then on.
  document.addEventListener('focusin', function (evt) {
    const el = evt.target;
    if (!(el instanceof Element)) return;
    const list = el.closest('.board ' + LIST);
    if (!list) return;
    const item = el.closest(CARD) || (el.closest('.load-more') && el);
    if (item && item.getAttribute('tabindex') !== '0') setStop(list, item);
  });

  function openActions(card) {
    const link = card.querySelector('.card-move');
    if (!link) {
      announce('You cannot change this card.');
      return;
    }
    panelOpener = card.dataset.id || '';
    link.click();
  }

  function toggleHelp(show) {
    const help = document.getElementById('board-keys-help');
    if (!help) return;
    help.open = show === undefined ? !help.open : show;
    if (help.open) {
      const summary = help.querySelector('summary');
      if (summary) summary.focus();
    }
  }

  document.addEventListener('keydown', function (evt) {
    if (evt.ctrlKey || evt.metaKey || evt.altKey || evt.defaultPrevented) return;
    const el = evt.target;
    if (!(el instanceof Element)) return;
    const typing = el.matches('input, select, textarea, [contenteditable]');
    if (evt.key === '?' && !typing) {
      evt.preventDefault();
      toggleHelp();
      return;
    }
    const list = el.closest('.board ' + LIST);
    if (!list) return;
    const item = el.matches(CARD) || el.matches('.load-more button') ? el : null;
    if (!item && el !== list) return; // a control inside a card keeps its keys
    const items = itemsOf(list);
    const i = item ? items.indexOf(item) : -1;
    const lists = boardLists(list.closest('.board'));
    const li = lists.indexOf(list);
    const toColumn = function (n, index) {
      const target = lists[n];
      if (!target) return;
      const targetItems = itemsOf(target);
      if (!targetItems.length) {
        setStop(target, null);
        target.focus({ preventScroll: true });
        target.scrollIntoView({ block: 'nearest', inline: 'nearest' });
        return;
      }
      focusItem(target, targetItems[Math.min(Math.max(index, 0), targetItems.length - 1)]);
    };
    switch (evt.key) {
      case 'ArrowDown': if (i < items.length - 1) focusItem(list, items[i + 1]); break;
      case 'ArrowUp': if (i > 0) focusItem(list, items[i - 1]); break;
      case 'Home': focusItem(list, items[0]); break;
      case 'End': focusItem(list, items[items.length - 1]); break;
      case 'ArrowLeft': toColumn(li - 1, i); break;
      case 'ArrowRight': toColumn(li + 1, i); break;
      case 'Enter':
        if (!item || !item.matches(CARD)) return;
        { const link = item.querySelector('.card-subject'); if (link) link.click(); }
        break;
      case 'm':
      case 'M':
        if (!item || !item.matches(CARD)) return;
        openActions(item);
        break;
      default:
        if (/^[1-9]$/.test(evt.key)) { toColumn(Number(evt.key) - 1, 0); break; }
        return;
    }
    evt.preventDefault();
  });

  // ------------------------------------------- the phone's column picker

  // The picker's links scroll the board sideways to their column (no jump of the page), and
  // the column in view is marked as current.
  document.addEventListener('click', function (evt) {
    const link = evt.target instanceof Element && evt.target.closest('.column-picker a[data-column]');
    if (!link) return;
    const col = document.getElementById(link.dataset.column);
    const board = col && col.closest('.board');
    if (!board) return;
    evt.preventDefault();
    board.scrollTo({ left: col.offsetLeft - board.offsetLeft, behavior: 'auto' });
  });

  function markCurrentColumn(board) {
    const picker = document.querySelector('.column-picker');
    if (!picker || !board) return;
    const mid = board.getBoundingClientRect().left + board.clientWidth / 2;
    let current = '';
    board.querySelectorAll(':scope > section.column').forEach(function (col) {
      const r = col.getBoundingClientRect();
      if (r.left <= mid && r.right >= mid) current = col.id;
    });
    picker.querySelectorAll('a[data-column]').forEach(function (a) {
      if (a.dataset.column === current) a.setAttribute('aria-current', 'true');
      else a.removeAttribute('aria-current');
    });
  }
  document.addEventListener('scroll', function (evt) {
    if (evt.target instanceof Element && evt.target.matches('.board')) markCurrentColumn(evt.target);
  }, true);
  htmx.onLoad(function () { markCurrentColumn(document.querySelector('.board')); });

  // ------------------------------------------------ keyboard on a focused card

  // Alt+ArrowUp / Alt+ArrowDown: one place up or down in the column.
  // Alt+ArrowLeft / Alt+ArrowRight: to the top of the previous / next column.
  document.addEventListener('keydown', function (evt) {
    const card = evt.target;
    if (!evt.altKey || evt.ctrlKey || evt.metaKey || evt.shiftKey) return;
    if (!(card instanceof Element) || !card.matches(CARD)) return;
    const key = evt.key;
    if (key !== 'ArrowUp' && key !== 'ArrowDown' && key !== 'ArrowLeft' && key !== 'ArrowRight') return;
    evt.preventDefault();
    if (isBusy(card)) return;

    const list = card.parentElement;
    const origin = positionOf(card);
    const cards = cardsIn(list);
    const i = cards.indexOf(card);
    if (key === 'ArrowUp') {
      if (i <= 0) return;
      list.insertBefore(card, cards[i - 1]);
    } else if (key === 'ArrowDown') {
      if (i < 0 || i >= cards.length - 1) return;
      cards[i + 1].after(card);
    } else {
      const board = card.closest('.board') || document;
      const lists = Array.prototype.slice.call(board.querySelectorAll(LIST + '[data-drop-url]'));
      const target = lists[lists.indexOf(list) + (key === 'ArrowLeft' ? -1 : 1)];
      if (!target) return;
      target.insertBefore(card, cardsIn(target)[0] || loadMoreOf(target) || null);
    }
    card.focus({ preventScroll: true });
    card.scrollIntoView({ block: 'nearest', inline: 'nearest' });
    submitMove(card, origin, 'keyboard');
  });

  // ------------------------------------------- the "Move to" form (htmx) path

  // Tell the server how many cards the two columns show, so that it renders
  // as many, and where the move came from.
  document.addEventListener('htmx:configRequest', function (evt) {
    const form = evt.detail.elt;
    if (!form || !form.matches || !form.matches('form.move-form')) return;
    const card = cardOfForm(form);
    const list = card && card.parentElement;
    if (!list) return;
    const params = evt.detail.parameters; // htmx 2: a FormData proxy
    const field = form.querySelector('select, button[name]');
    const value = field && params.get(field.name);
    const target = value != null && listOfDrop(value);
    const shown = cardsIn(list).length;
    const set = function (name, value) {
      if (!params.has(name)) params.set(name, value);
    };
    if (target === list) {
      set('from_count', String(shown));
      set('to_count', String(shown));
    } else {
      set('from_count', String(Math.max(shown - 1, 0)));
      if (target) set('to_count', String(cardsIn(target).length + 1));
    }
    set('source', 'form');
  });

  document.addEventListener('htmx:beforeRequest', function (evt) {
    const form = evt.detail.elt;
    if (form && form.matches && form.matches('form.move-form')) {
      const card = cardOfForm(form);
      if (card) setBusy(card, true);
    }
  });

  document.addEventListener('htmx:afterRequest', function (evt) {
    // When the form was swapped out, htmx fires this event again on the
    // nearest element still in the page and detail.elt is that element: the
    // form itself is requestConfig.elt.
    const form = (evt.detail.requestConfig && evt.detail.requestConfig.elt) || evt.detail.elt;
    if (!form || !form.matches || !form.matches('form.move-form')) return;
    const id = form.dataset.cardId || '';
    const card = document.getElementById('card-' + id);
    if (card) setBusy(card, false);
    if (evt.detail.successful) {
      if (!document.querySelector('#panel [data-testid="lost-panel"]')) focusCard(id);
      emit('board:move-done', { id: id, source: 'form' });
    } else {
      emit('board:move-failed', { id: id, source: 'form' });
    }
  });

  // ------------------------------------------------------ the side panel

  // #panel (aside) is filled by htmx (edit, lost reason) and emptied to close.
  // Keyboard users land in it when it opens, on the first wrong field after
  // a failed save, and back on their card when it closes; Escape closes it.
  let panelOpener = '';

  document.addEventListener('click', function (evt) {
    const card = evt.target instanceof Element && evt.target.closest(CARD);
    if (card && evt.target.closest('a')) panelOpener = card.dataset.id || '';
  }, true);

  /** Empties the side panel (no request needed) and returns to the card it was opened from. */
  function closePanel(panel) {
    htmx.swap(panel, '', { swapStyle: 'innerHTML' });
    if (panelOpener && document.getElementById('card-' + panelOpener)) focusCard(panelOpener);
  }

  // The panel's Close closes it here; its link (to the board) is for pages without JavaScript.
  document.addEventListener('click', function (evt) {
    const close = evt.target instanceof Element && evt.target.closest('aside#panel [data-testid="panel-close"]');
    if (!close) return;
    evt.preventDefault();
    evt.stopPropagation();
    closePanel(close.closest('aside#panel'));
  }, true);

  document.addEventListener('htmx:afterSwap', function (evt) {
    const el = evt.detail.elt;
    if (!(el instanceof Element) || el.id !== 'panel') return;
    if (!el.querySelector('*')) { // closed
      if (panelOpener && !el.contains(document.activeElement)) focusCard(panelOpener);
      return;
    }
    const invalid = el.querySelector('[aria-invalid="true"]');
    if (invalid) { invalid.focus(); return; }
    if (el.contains(document.activeElement)) return;
    const heading = el.querySelector('h1, h2, h3');
    if (heading) {
      if (!heading.hasAttribute('tabindex')) heading.setAttribute('tabindex', '-1');
      heading.focus({ preventScroll: true });
    }
  });

  document.addEventListener('keydown', function (evt) {
    if (evt.key !== 'Escape' || evt.defaultPrevented) return;
    const panel = document.getElementById('panel');
    if (!panel || !(evt.target instanceof Element) || !panel.contains(evt.target)) return;
    if (evt.target.matches('select')) return; // Escape closes the select's list first
    if (!panel.matches('aside')) return; // a page of its own: its Close is a link away
    evt.preventDefault();
    closePanel(panel);
  });

  // ------------------------------------------- errors of any htmx request

  /** The message of a stale move's answer (URL-encoded in its header). */
  function staleMessage(header) {
    try {
      return decodeURIComponent(header.replace(/\+/g, ' '));
    } catch (_) {
      return 'Someone else changed this card meanwhile; it is shown where it is now.';
    }
  }

  // A stale move from the "Move to" form: its 409 answer holds the columns as they are.
  document.addEventListener('htmx:beforeSwap', function (evt) {
    const xhr = evt.detail.xhr;
    const header = xhr && xhr.status === 409 ? xhr.getResponseHeader('X-Phaseboard-Message') : null;
    if (!header) return;
    evt.detail.shouldSwap = true;
    evt.detail.isError = false;
    fail(staleMessage(header));
  });

  // htmx 2 does not swap 4xx/5xx answers: show their text/plain message.
  document.addEventListener('htmx:responseError', function (evt) {
    const xhr = evt.detail.xhr;
    fail(errorMessage(xhr.status, xhr.getResponseHeader('Content-Type'), xhr.responseText));
  });

  document.addEventListener('htmx:sendError', function () {
    fail(MSG_NETWORK);
  });

  document.addEventListener('htmx:timeout', function () {
    fail('The server took too long to answer. Please try again.');
  });
  // ------------------------------------------------------------ live pages

  // A live page's stream (views/live.templ, handlers/live.go) swaps each
  // change's element into its inbox: .live-refresh fetches the columns that
  // changed (out of band), .live-reload re-renders the page's region. While a
  // card is dragged or its move is in flight, both wait until it is done, so
  // a drag is never broken; focus stays on the card (or control) it was on.

  let lastLiveId = null; // the newest event id seen: a recreated stream resumes after it
  const deferredLive = []; // refresh URLs held back while dragging
  let reloadDeferred = false;
  let liveFocus = null;

  function liveBusy() {
    return document.body.classList.contains('is-dragging') ||
      document.querySelector(CARD + '[aria-busy="true"]') !== null;
  }

  // htmx-ext-sse makes a new EventSource when the browser gave up on one
  // (readyState CLOSED), which would forget the Last-Event-ID: resume from
  // the newest id seen instead.
  htmx.createEventSource = function (url) {
    if (lastLiveId) url = url.replace(/([?&])last=\d+/, '$1last=' + encodeURIComponent(lastLiveId));
    return new EventSource(url, { withCredentials: true });
  };
  document.addEventListener('htmx:sseMessage', function (evt) {
    if (evt.detail && evt.detail.lastEventId) lastLiveId = evt.detail.lastEventId;
  });

  function liveRegion(from) {
    const live = from.closest('.live') || document.querySelector('.live');
    const sel = live ? live.getAttribute('data-live-region') : null;
    return sel ? document.querySelector(sel) : null;
  }

  function reloadRegion(from) {
    if (liveBusy()) { reloadDeferred = true; return; }
    const region = liveRegion(from);
    if (!region || !region.id) return;
    htmx.ajax('GET', window.location.href, { target: '#' + region.id, select: '#' + region.id, swap: 'outerHTML' });
    emit('live:reload', {});
  }

  const deferredCards = {}; // refresh URL → its changes (data-cards), checked again when run
  function refreshLater(url, cards) {
    if (deferredLive.indexOf(url) < 0) deferredLive.push(url);
    if (cards) deferredCards[url] = cards;
  }

  /** Runs what waited for a drag or a move to finish. */
  function flushLive() {
    if (liveBusy()) return;
    if (reloadDeferred) {
      reloadDeferred = false;
      deferredLive.length = 0;
      reloadRegion(document.body);
      return;
    }
    while (deferredLive.length) {
      const url = deferredLive.shift();
      const cards = deferredCards[url];
      delete deferredCards[url];
      if (!alreadyShown(cards)) htmx.ajax('GET', url, { source: document.body, swap: 'none' });
    }
  }
  document.addEventListener('board:move-done', function () { window.setTimeout(flushLive, 0); });
  document.addEventListener('board:move-failed', function () { window.setTimeout(flushLive, 0); });
  document.addEventListener('mouseup', function () { window.setTimeout(flushLive, 50); });
  document.addEventListener('pointerup', function () { window.setTimeout(flushLive, 50); });

  // The change's element arrived in the inbox: reload now, or let htmx
  // fetch the columns (below, with the counts of cards shown).
  document.addEventListener('htmx:sseMessage', function (evt) {
    const inbox = evt.target;
    if (!(inbox instanceof Element) || !inbox.matches('.live-inbox')) return;
    const reloads = inbox.querySelectorAll('.live-reload');
    reloads.forEach(function (el) { el.remove(); });
    if (reloads.length) reloadRegion(inbox);
  });
  // A refresh's element has done its work once its request is answered.
  document.addEventListener('htmx:afterRequest', function (evt) {
    const elt = evt.detail.elt;
    if (elt instanceof Element && elt.matches('.live-refresh')) elt.remove();
  });

  /** The phases a refresh URL names. */
  function phasesOf(path) {
    const q = path.indexOf('?') >= 0 ? path.slice(path.indexOf('?') + 1) : '';
    return new URLSearchParams(q).getAll('phase');
  }

  /**
   * Whether the page shows every change of a refresh already (the answer
   * to this page's own move did): each card at that version or newer in that
   * column, or gone when deleted.
   */
  function alreadyShown(cards) {
    if (!cards) return false;
    return cards.split(',').every(function (entry) {
      const parts = entry.split(':');
      const card = document.querySelector('.board ' + CARD + '#card-' + CSS.escape(parts[0]));
      if (parts[2] === '') return card === null;
      if (!card) return false;
      const list = card.closest(LIST);
      return Number(card.dataset.version) >= Number(parts[1]) && list !== null && list.dataset.dropValue === parts[2];
    });
  }

  document.addEventListener('htmx:configRequest', function (evt) {
    const path = evt.detail.path || '';
    if (path.indexOf('/board/refresh?') !== 0) return;
    const elt = evt.detail.elt;
    const cards = elt && elt.getAttribute ? elt.getAttribute('data-cards') : (deferredCards[path] || null);
    if (alreadyShown(cards)) {
      evt.preventDefault();
      if (elt && elt.matches && elt.matches('.live-refresh')) elt.remove();
      return;
    }
    if (liveBusy()) {
      evt.preventDefault();
      refreshLater(path, cards);
      return;
    }
    // Each column comes back with as many cards as it shows now.
    phasesOf(path).forEach(function (p) {
      const list = document.querySelector('.board ' + LIST + '[data-drop-value="' + CSS.escape(p) + '"]');
      if (list) evt.detail.parameters['n_' + p] = String(cardsIn(list).length);
    });
  });

  // An answer that arrives while a drag started meanwhile waits too.
  document.addEventListener('htmx:beforeSwap', function (evt) {
    const path = (evt.detail.requestConfig && evt.detail.requestConfig.path) || '';
    if (path.indexOf('/board/refresh?') === 0 && liveBusy()) {
      evt.detail.shouldSwap = false;
      refreshLater(path, null);
    }
  });

  // Out-of-band swaps replace columns: the focused card keeps the focus.
  document.addEventListener('htmx:oobBeforeSwap', function (evt) {
    const active = document.activeElement;
    if (active && active.id && evt.detail.target && evt.detail.target.contains(active)) liveFocus = active.id;
  });
  document.addEventListener('htmx:oobAfterSwap', function () {
    if (!liveFocus) return;
    const el = document.getElementById(liveFocus);
    liveFocus = null;
    if (el && document.activeElement !== el) el.focus({ preventScroll: true });
  });
  document.addEventListener('htmx:afterSettle', function (evt) {
    const path = (evt.detail.requestConfig && evt.detail.requestConfig.path) || '';
    if (path.indexOf('/board/refresh?') === 0) emit('live:refreshed', { path: path });
  });
})();
