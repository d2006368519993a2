;; Centroid assignment from short candidate lists (index/centroid-shortlist.ts), WebAssembly
;; SIMD-128: for each row, the candidate centroid with the largest dot product, then a greedy
;; climb over the centroids' nearest neighbours while one of them is nearer still. Plain JS took
;; ~300 ns a 128-dim dot product here, which made a 40-centroid list cost as much as the 8-bit
;; product over all 8192 centroids; this loop takes a few tens of ns.
;;
;; Memory (byte addresses prepared by the wrapper, 16-byte aligned; dim = 16 · $dim16):
;;   $C     k × dim f32, the centroids
;;   $nb    k × $M i32, each centroid's $M nearest other centroids (nearest first)
;;   $rows  n × dim f32, the vectors to assign
;;   $lists n × [start, count] i32: row i's candidates are $cand[start, start + count)
;;   $cand  i32 centroid ids
;;   $out   n i32: the centroid chosen for each row
;;   $score n f32: its dot product with the row
;; Returns the number of centroids compared, climb included.
(module
  (memory (export "memory") 1)

  ;; dot(row at $r, centroid at $c) over $dim16 groups of 16 floats, 4 accumulators.
  (func $dot (param $r i32) (param $c i32) (param $dim16 i32) (result f32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128) (local $end i32)
    (local.set $end (i32.add (local.get $r) (i32.shl (local.get $dim16) (i32.const 6))))
    (block $done (loop $groups
      (br_if $done (i32.ge_u (local.get $r) (local.get $end)))
      (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (v128.load offset=0 (local.get $r)) (v128.load offset=0 (local.get $c)))))
      (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (v128.load offset=16 (local.get $r)) (v128.load offset=16 (local.get $c)))))
      (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (v128.load offset=32 (local.get $r)) (v128.load offset=32 (local.get $c)))))
      (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (v128.load offset=48 (local.get $r)) (v128.load offset=48 (local.get $c)))))
      (local.set $r (i32.add (local.get $r) (i32.const 64)))
      (local.set $c (i32.add (local.get $c) (i32.const 64)))
      (br $groups)))
    (local.set $a0 (f32x4.add (f32x4.add (local.get $a0) (local.get $a1)) (f32x4.add (local.get $a2) (local.get $a3))))
    (f32.add
      (f32.add (f32x4.extract_lane 0 (local.get $a0)) (f32x4.extract_lane 1 (local.get $a0)))
      (f32.add (f32x4.extract_lane 2 (local.get $a0)) (f32x4.extract_lane 3 (local.get $a0))))
  )

  (func (export "assign")
    (param $C i32) (param $dim16 i32) (param $nb i32) (param $M i32) (param $climbs i32)
    (param $rows i32) (param $n i32) (param $lists i32) (param $cand i32) (param $out i32) (param $score i32)
    (result i32)
    (local $i i32) (local $r i32) (local $stride i32) (local $p i32) (local $pend i32)
    (local $c i32) (local $v f32) (local $best i32) (local $bestV f32)
    (local $next i32) (local $nextV f32) (local $step i32) (local $j i32) (local $compared i32)
    (local.set $stride (i32.shl (local.get $dim16) (i32.const 6)))
    (block $rdone (loop $rowsLoop
      (br_if $rdone (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $r (i32.add (local.get $rows) (i32.mul (local.get $i) (local.get $stride))))
      ;; the best of the row's candidates (the first on ties)
      (local.set $p (i32.add (local.get $cand)
        (i32.shl (i32.load (i32.add (local.get $lists) (i32.shl (local.get $i) (i32.const 3)))) (i32.const 2))))
      (local.set $pend (i32.add (local.get $p)
        (i32.shl (i32.load offset=4 (i32.add (local.get $lists) (i32.shl (local.get $i) (i32.const 3)))) (i32.const 2))))
      (local.set $best (i32.load (local.get $p)))
      (local.set $bestV (f32.const -inf))
      (block $cdone (loop $cands
        (br_if $cdone (i32.ge_u (local.get $p) (local.get $pend)))
        (local.set $c (i32.load (local.get $p)))
        (local.set $v (call $dot (local.get $r) (i32.add (local.get $C) (i32.mul (local.get $c) (local.get $stride))) (local.get $dim16)))
        (local.set $compared (i32.add (local.get $compared) (i32.const 1)))
        (if (f32.gt (local.get $v) (local.get $bestV)) (then
          (local.set $bestV (local.get $v))
          (local.set $best (local.get $c))))
        (local.set $p (i32.add (local.get $p) (i32.const 4)))
        (br $cands)))
      ;; climb: move to the nearest of the current centroid's neighbours while it is nearer
      (local.set $step (i32.const 0))
      (block $climbed (loop $climb
        (br_if $climbed (i32.ge_u (local.get $step) (local.get $climbs)))
        (local.set $next (local.get $best))
        (local.set $nextV (local.get $bestV))
        (local.set $p (i32.add (local.get $nb) (i32.shl (i32.mul (local.get $best) (local.get $M)) (i32.const 2))))
        (local.set $j (i32.const 0))
        (block $ndone (loop $nbrs
          (br_if $ndone (i32.ge_u (local.get $j) (local.get $M)))
          (local.set $c (i32.load (i32.add (local.get $p) (i32.shl (local.get $j) (i32.const 2)))))
          (local.set $v (call $dot (local.get $r) (i32.add (local.get $C) (i32.mul (local.get $c) (local.get $stride))) (local.get $dim16)))
          (if (f32.gt (local.get $v) (local.get $nextV)) (then
            (local.set $nextV (local.get $v))
            (local.set $next (local.get $c))))
          (local.set $j (i32.add (local.get $j) (i32.const 1)))
          (br $nbrs)))
        (local.set $compared (i32.add (local.get $compared) (local.get $M)))
        (br_if $climbed (i32.eq (local.get $next) (local.get $best)))
        (local.set $best (local.get $next))
        (local.set $bestV (local.get $nextV))
        (local.set $step (i32.add (local.get $step) (i32.const 1)))
        (br $climb)))
      (i32.store (i32.add (local.get $out) (i32.shl (local.get $i) (i32.const 2))) (local.get $best))
      (f32.store (i32.add (local.get $score) (i32.shl (local.get $i) (i32.const 2))) (local.get $bestV))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $rowsLoop)))
    (local.get $compared)
  )
)
