"""The algorithm of :func:`labelprep.splitting.stratified_split`: iterative stratification over groups, in three
passes (seed, stratify, fill), on a CSR layout of each group's positive labels (see :mod:`labelprep.splitting`).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["FloatArray", "IntArray", "Stratifier"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

# Groups placed at once while stratifying: smaller is closer to placing them one at a time, larger is faster.
# Groups of differing sizes need small chunks to fit the quotas; single rows only differ in their labels.
_CHUNK_GROUPS = 16
_CHUNK_ROWS = 64
_FILL_CHUNK = 512  # groups placed at once in the fill pass (they only differ in size)
_SEED_CANDIDATES = 256  # groups looked at when choosing one seed for a label
_REPAIR_STEPS = 2000  # moves tried, plus 200 per (label, split) pair missing after seeding (only then)


def _spans(ptr: IntArray, items: IntArray) -> tuple[IntArray, IntArray]:
    """Positions in a CSR array of the entries of ``items``, and which item (0..len-1) each one belongs to."""
    starts = ptr[items]
    lens = ptr[items + 1] - starts
    owner = np.repeat(np.arange(len(items), dtype=np.int64), lens)
    offsets = np.cumsum(lens) - lens
    pos = np.arange(int(lens.sum()), dtype=np.int64) - np.repeat(offsets - starts, lens)
    return pos, owner


def _apportion(quota: FloatArray, total: float, ratios: FloatArray, tie_break: FloatArray) -> FloatArray:
    """Whole numbers close to ``quota`` that add up to ``total``, rounding where it costs least prevalence.

    Starting from the floors, each unit left over goes where it lowers ``sum |count - quota| / ratio`` the
    most: a unit too many or too few in a small split moves its prevalence further than in a large one.
    """
    total = round(total)
    floor = np.floor(quota + 1e-9)
    short = int(total - floor.sum())
    gain = (2 * (quota - floor) - 1) / ratios  # what rounding up instead of down saves
    if short > 0:
        floor[np.lexsort((tie_break, -gain))[:short]] += 1
    elif short < 0:  # pragma: no cover - only from rounding noise in the quotas
        floor[np.lexsort((tie_break, gain))[:-short]] -= 1
    return floor


def _waterfill(need: FloatArray, amount: float, ratios: FloatArray) -> FloatArray:
    """Share ``amount`` out so that what is still missing afterwards is proportional to the ratios, never below 0."""
    # find t with sum(max(need - t * ratios, 0)) == amount; need.sum() == amount when nothing is overfull (t == 0)
    if amount <= 0:
        return np.zeros_like(need)
    level = need / ratios
    order = np.argsort(-level, kind="stable")
    for i in range(len(order)):
        active = order[: i + 1]
        t = (need[active].sum() - amount) / ratios[active].sum()
        if i + 1 == len(order) or t >= level[order[i + 1]]:
            return np.maximum(need - t * ratios, 0.0)
    return amount * ratios  # pragma: no cover - unreachable, the last interval is unbounded


class Stratifier:
    """State of one split: which split each group went to, and what every split still lacks."""

    def __init__(
        self,
        group_of_row: IntArray,
        n_groups: int,
        pos_rows: IntArray,
        pos_labels: IntArray,
        n_labels: int,
        ratios: FloatArray,
        rng: np.random.Generator,
    ) -> None:
        G, L, k = n_groups, n_labels, len(ratios)
        self.G, self.L, self.k = G, L, k
        self.ratios = ratios
        self.w = 1.0 / ratios**2  # squared prevalence error: a positive too many weighs more in a small split
        self.sizes = np.bincount(group_of_row, minlength=G).astype(np.float64)
        self.chunk = _CHUNK_ROWS if G == len(group_of_row) else _CHUNK_GROUPS
        n_rows = float(len(group_of_row))
        # group x label positive counts as CSR (by group) and CSC (by label)
        g = group_of_row[pos_rows]
        keys = g * max(L, 1) + pos_labels
        uniq, counts = np.unique(keys, return_counts=True)
        gl_group, gl_label = uniq // max(L, 1), uniq % max(L, 1)
        self.g_ptr = np.concatenate(([0], np.cumsum(np.bincount(gl_group, minlength=G)))).astype(np.int64)
        self.g_lab = gl_label.astype(np.int64)
        self.g_cnt = counts.astype(np.float64)
        by_label = np.argsort(gl_label, kind="stable")
        self.l_ptr = np.concatenate(([0], np.cumsum(np.bincount(gl_label, minlength=L)))).astype(np.int64)
        self.l_grp = gl_group[by_label].astype(np.int64)
        self.l_cnt = counts[by_label].astype(np.float64)
        self.groups_with = np.diff(self.l_ptr)  # groups carrying each label
        positives = np.bincount(pos_labels, minlength=L).astype(np.float64)
        # what each split still lacks: label positives and rows, against ratio * total
        self.need = np.outer(ratios, positives)
        self.need_rows = ratios * n_rows
        self.assigned = np.full(G, -1, dtype=np.int64)
        self.remaining = self.groups_with.copy()  # unplaced groups carrying each label
        self.pos_left = positives.copy()  # positives in the unplaced groups
        self.rows_left = n_rows  # rows in the unplaced groups
        self.cover = np.zeros((k, L), dtype=np.int64)  # groups carrying each label, per split
        self.split_groups = np.zeros(k, dtype=np.int64)
        # random priorities break ties; with the draws in _choose and repair, this is where the seed acts
        self.group_prio = rng.permutation(G)
        self.label_prio = rng.permutation(L)
        self.rng = rng

    # -- bookkeeping -----------------------------------------------------------------------------------------

    def place(self, items: IntArray, splits: IntArray, sign: int = 1) -> None:
        """Put ``items`` in ``splits`` (``sign=-1``: take them back out of the splits they are in)."""
        self.assigned[items] = splits if sign > 0 else -1
        pos, owner = _spans(self.g_ptr, items)
        labs, js = self.g_lab[pos], splits[owner]
        flat = js * self.L + labs
        kl = (self.k, self.L)
        self.need -= sign * np.bincount(flat, weights=self.g_cnt[pos], minlength=self.k * self.L).reshape(kl)
        self.need_rows -= sign * np.bincount(splits, weights=self.sizes[items], minlength=self.k)
        self.remaining -= sign * np.bincount(labs, minlength=self.L)
        self.pos_left -= sign * np.bincount(labs, weights=self.g_cnt[pos], minlength=self.L)
        self.rows_left -= sign * float(self.sizes[items].sum())
        self.cover += sign * np.bincount(flat, minlength=self.k * self.L).reshape(kl)
        self.split_groups += sign * np.bincount(splits, minlength=self.k)

    def move(self, item: int, j: int) -> None:
        """Move one group to split ``j`` (-1: back to the unplaced ones)."""
        items = np.array([item], dtype=np.int64)
        if self.assigned[item] >= 0:
            self.place(items, self.assigned[items], sign=-1)
        if j >= 0:
            self.place(items, np.array([j], dtype=np.int64))

    def unplaced_with(self, label: int) -> tuple[IntArray, FloatArray]:
        lo, hi = self.l_ptr[label], self.l_ptr[label + 1]
        items, counts = self.l_grp[lo:hi], self.l_cnt[lo:hi]
        free = self.assigned[items] < 0
        return items[free], counts[free]

    # -- pass 1: one group of every rare-enough label in every split --------------------------------------------

    def seed(self) -> None:
        k = self.k
        eligible = self.groups_with >= k
        labels = np.flatnonzero(eligible)
        labels = labels[np.lexsort((self.label_prio[labels], self.groups_with[labels]))]
        for label in labels.tolist():
            for j in np.argsort(self.ratios, kind="stable").tolist():
                if self.cover[j, label]:
                    continue
                items, _ = self.unplaced_with(label)
                if len(items) == 0:
                    continue  # reported as unplaced from the final counts
                if len(items) > _SEED_CANDIDATES:
                    items = items[np.argsort(self.group_prio[items])[:_SEED_CANDIDATES]]
                best = self._best_seed(items, label, j, eligible)
                self.place(np.array([best], dtype=np.int64), np.array([j], dtype=np.int64))
        self.repair(eligible)
        # a split that no label seeded still gets a group, the smallest unlabelled one if there is one
        for j in np.flatnonzero(self.split_groups == 0).tolist():
            free = np.flatnonzero(self.assigned < 0)
            if len(free) == 0:
                break
            n_labels = np.diff(self.g_ptr)[free]
            best = free[np.lexsort((self.group_prio[free], self.sizes[free], n_labels))[0]]
            self.place(np.array([best], dtype=np.int64), np.array([j], dtype=np.int64))

    def repair(self, eligible: npt.NDArray[np.bool_]) -> None:
        """Move seeds until every label with enough groups is in every split, where that can be found.

        Seeding one label at a time can paint itself into a corner; this is a min-conflicts local search
        over the placed groups: take a (label, split) pair still missing, move the group of that label
        whose move loses the fewest other pairs, now and then a random one, and keep the best state seen.
        (Some cases cannot be solved at all: three labels on three rows, each pair sharing a row, cannot
        all reach two splits.)
        """
        todo = eligible[None, :] & (self.cover == 0)
        missing = int(todo.sum())
        if missing == 0:
            return
        best, log, best_len = missing, [], 0
        for _ in range(_REPAIR_STEPS + 200 * missing):
            pairs = np.argwhere(eligible[None, :] & (self.cover == 0))
            if len(pairs) == 0:
                break
            j, label = (int(x) for x in pairs[self.rng.integers(len(pairs))])
            groups = self.l_grp[self.l_ptr[label] : self.l_ptr[label + 1]]
            pos, owner = _spans(self.g_ptr, groups)
            labs, src = self.g_lab[pos], self.assigned[groups][owner]
            ok = eligible[labs]
            lost = ok & (src >= 0) & (self.cover[np.maximum(src, 0), labs] == 1)  # an unplaced group costs nothing
            lose = np.bincount(owner, weights=lost, minlength=len(groups))
            gain = np.bincount(owner, weights=ok & (self.cover[j, labs] == 0), minlength=len(groups))
            delta = lose - gain
            if self.rng.random() < 0.1:
                pick = int(self.rng.integers(len(groups)))
            else:
                ties = np.flatnonzero(delta == delta.min())
                pick = int(ties[self.rng.integers(len(ties))])
            g = int(groups[pick])
            log.append((g, int(self.assigned[g])))
            self.move(g, j)
            missing += int(delta[pick])
            if missing < best:
                best, best_len = missing, len(log)
                if missing == 0:
                    break
        for g, s in reversed(log[best_len:]):
            self.move(g, s)  # s == -1: back out of the splits

    def _best_seed(self, items: IntArray, label: int, j: int, eligible: npt.NDArray[np.bool_]) -> int:
        pos, owner = _spans(self.g_ptr, items)
        labs = self.g_lab[pos]
        m = len(items)
        missing = self.k - (self.cover[:, labs] > 0).sum(axis=0)
        slack = self.remaining[labs] - missing  # spare groups of each other label, this one included
        open_ = eligible[labs] & (missing > 0) & (labs != label)
        here = self.cover[j, labs] > 0
        kills = np.bincount(owner, weights=open_ & here & (slack <= 0), minlength=m)
        helps = np.bincount(owner, weights=open_ & ~here, minlength=m)
        harm = np.bincount(owner, weights=np.where(open_ & here, 1.0 / np.maximum(slack, 1), 0.0), minlength=m)
        fit = self._scores(items, label)[:, j]
        order = np.lexsort((self.group_prio[items], -helps, -fit, harm, kills > 0))
        return int(items[order[0]])

    # -- pass 2: iterative stratification, rarest label first ---------------------------------------------------

    def stratify(self) -> None:
        while True:
            todo = np.flatnonzero(self.remaining > 0)
            if len(todo) == 0:
                return
            label = int(todo[np.lexsort((self.label_prio[todo], self.remaining[todo]))[0]])
            items, counts = self.unplaced_with(label)
            # big groups first (they are the hard ones to fit), ties in random order
            order = np.lexsort((self.group_prio[items], -self.sizes[items]))
            items, counts = items[order], counts[order]
            left = float(counts.sum())
            step = self.chunk
            for lo in range(0, len(items), step):
                ch, ach = items[lo : lo + step], counts[lo : lo + step]
                share = _waterfill(self.need[:, label], left, self.ratios)
                chunk_total = float(ach.sum())
                quota = share * (chunk_total / left) if lo + step < len(items) else share
                self.place(ch, self._choose(ch, ach, quota, self._scores(ch, label)))
                left -= chunk_total

    def _scores(self, items: IntArray, label: int) -> FloatArray:
        """(items, k): minus the change in squared prevalence error when the item goes to each split.

        The error of label l in split j is ``need[j, l] - q[l] * need_rows[j]``: positives still wanted minus
        what the rows still wanted will bring, ``q`` being the prevalence among the groups not placed yet
        (not the overall one: the rarest labels go first, so what is left is poorer in them). ``label``
        itself is left out, its quota already decides it.
        """
        m, k = len(items), self.k
        q_all = self.pos_left / max(self.rows_left, 1.0)
        q2 = float(q_all @ q_all)
        pos, owner = _spans(self.g_ptr, items)
        labs, c = self.g_lab[pos], self.g_cnt[pos]
        c = np.where(labs == label, 0.0, c)
        q = q_all[labs]
        s = self.sizes[items]
        err = self.need[:, labs] - np.outer(self.need_rows, q)  # (k, pairs)
        sum_c2 = np.bincount(owner, weights=c * c, minlength=m)
        sum_cq = np.bincount(owner, weights=c * q, minlength=m)
        flat = (np.arange(k)[:, None] * m + owner[None, :]).reshape(-1)
        sum_ec = np.bincount(flat, weights=(err * c).reshape(-1), minlength=k * m).reshape(k, m)
        u = self.need @ q_all - self.need_rows * q2  # sum over all labels of err * q
        base = sum_c2 - 2 * s * sum_cq + s * s * q2
        delta = (base[None, :] - 2 * sum_ec + 2 * s[None, :] * u[:, None]) * self.w[:, None]
        return -delta.T

    def _choose(self, items: IntArray, weights: FloatArray, quota: FloatArray, scores: FloatArray) -> IntArray:
        """Give each split its rounded ``quota`` of the weight, the items it prefers most first.

        The splits are served from the smallest quota up; the last one takes what is left.
        """
        m = len(items)
        splits = np.full(m, -1, dtype=np.int64)
        free = np.ones(m, dtype=bool)
        room = _apportion(quota, float(weights.sum()), self.ratios, self.rng.random(self.k))
        order = np.argsort(quota, kind="stable")
        open_ = order.tolist()
        for j in order[:-1].tolist():
            open_.remove(j)
            left = room[j]
            for _ in range(4):  # a few passes: an item too heavy for the room left is skipped, not a stopper
                fits = np.flatnonzero(free & (weights <= left))
                if len(fits) == 0:
                    break
                pref = scores[fits, j] - scores[np.ix_(fits, open_)].max(axis=1)
                ranked = fits[np.argsort(-pref, kind="stable")]
                take = ranked[np.cumsum(weights[ranked]) <= left]
                splits[take] = j
                free[take] = False
                left -= float(weights[take].sum())
        splits[free] = order[-1]
        return splits

    # -- pass 3: groups without positives fill the splits up to their sizes -------------------------------------

    def fill(self) -> None:
        items = np.flatnonzero(self.assigned < 0)
        if len(items) == 0:
            return
        items = items[np.lexsort((self.group_prio[items], -self.sizes[items]))]
        left = float(self.sizes[items].sum())
        no_label = -1
        for lo in range(0, len(items), _FILL_CHUNK):
            ch = items[lo : lo + _FILL_CHUNK]
            w = self.sizes[ch]
            share = _waterfill(self.need_rows.copy(), left, self.ratios)
            quota = share * (float(w.sum()) / left) if lo + _FILL_CHUNK < len(items) else share
            self.place(ch, self._choose(ch, w, quota, self._scores(ch, no_label)))
            left -= float(w.sum())
