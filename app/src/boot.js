function (js, wasm, qr) {
	const slow = () => fetch(wasm).then((r) => r.arrayBuffer()).then((b) => WebAssembly.compile(b));
	const compiled = 'compileStreaming' in WebAssembly ? WebAssembly.compileStreaming(fetch(wasm)).catch(slow) : slow();
	const loaded = import(js).then((mod) => mod.default({ module_or_path: compiled }).then(() => mod));
	const parsed = new Promise((resolve) => {
		if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', resolve, { once: true });
		else resolve();
	});
	// What the visitor typed or ticked before the wasm arrived (a slow phone, a page load): the
	// wasm sets each field from its state as it hydrates, which would undo it. Put back, with the
	// events typing sends, it reaches the page's state as if typed now. Only fields the visitor
	// touched: a browser refills fields on a reload by itself, with what may be out of date.
	const ticks = (f) => f.type === 'checkbox' || f.type === 'radio';
	const touched = new Set();
	let typed = [];
	let awake = false;
	const typing = (e) => {
		if (!e.isTrusted || !(e.target instanceof Element) || !e.target.matches('input, textarea, select')) return;
		// Before: remembered. After: what the visitor types from now on is theirs.
		if (!awake) touched.add(e.target);
		else typed = typed.filter(([f]) => f !== e.target);
	};
	// The last button tapped before the wasm arrived that does nothing without it (the wizard's
	// Next): pressed again once the page has woken, unless the visitor taps anything meanwhile.
	let tapped = null;
	const tap = (e) => {
		const button = e.target instanceof Element ? e.target.closest('button') : null;
		tapped = !awake && button && (button.type === 'button' || !button.form) ? button : null;
	};
	const listeners = [['input', typing], ['change', typing], ['click', tap]];
	for (const [type, listener] of listeners) document.addEventListener(type, listener, true);
	Promise.all([loaded, parsed]).then(([mod]) => {
		// A radio button ticked stands for its group: the one it unticked is left alone.
		typed = [...touched].filter((f) => f.type !== 'radio' || f.checked)
			.map((f) => [f, ticks(f) ? f.checked : f.value]);
		mod.hydrate();
		awake = true;
		// A field inside a part of the page that waits for data is set when that part wakes, a
		// moment later (microtasks, a frame or two): put back until then.
		const restore = () => {
			for (const [f, entered] of typed) {
				if (!f.isConnected || (ticks(f) ? f.checked : f.value) === entered) continue;
				if (ticks(f)) f.checked = entered; else f.value = entered;
				f.dispatchEvent(new Event('input', { bubbles: true }));
				f.dispatchEvent(new Event('change', { bubbles: true }));
			}
		};
		const done = () => {
			for (const [type, listener] of listeners) document.removeEventListener(type, listener, true);
			if (tapped?.isConnected && !tapped.disabled) tapped.click();
		};
		restore();
		setTimeout(restore, 0);
		let frames = 10;
		const frame = () => { restore(); if (--frames > 0) requestAnimationFrame(frame); else done(); };
		requestAnimationFrame(frame);
	});
	if (qr) {
		// The QR decoder (app/src/scan.rs), fetched on first use only; a failed fetch is retried.
		let decoder = null;
		window.ampwiseQrDecoder = () => decoder ??= import(qr[0])
			.then((mod) => mod.default({ module_or_path: qr[1] }).then(() => mod))
			.catch((error) => { decoder = null; throw error; });
	}
}
