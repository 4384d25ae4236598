// A binary min-heap of events ordered by virtual time `v`, ties broken by insertion
// order, so the simulation's queue of next checks pops in a deterministic order.

export class EventHeap {
  #items = [];
  #seq = 0;

  get size() {
    return this.#items.length;
  }

  push(event) {
    event.seq = this.#seq++;
    const a = this.#items;
    a.push(event);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(a[i], a[parent])) break;
      [a[i], a[parent]] = [a[parent], a[i]];
      i = parent;
    }
  }

  peek() {
    return this.#items[0];
  }

  pop() {
    const a = this.#items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && before(a[l], a[m])) m = l;
        if (r < a.length && before(a[r], a[m])) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m], a[i]];
        i = m;
      }
    }
    return top;
  }
}

function before(x, y) {
  return x.v < y.v || (x.v === y.v && x.seq < y.seq);
}
