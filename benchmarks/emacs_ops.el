;;; emacs_ops.el --- Benchmark of the operator's Emacs buffers  -*- lexical-binding: t -*-

;;; Commentary:

;; Run by benchmarks/ops_views.py, which builds the town and passes
;; GASTOWN_BENCH_TOWN and GASTOWN_BENCH_RUNS.  For each view: the time of
;; its command on a connected client (the server's answer and the buffer
;; drawn), and the drawing alone from that answer.

;;; Code:

(require 'gastown)
(require 'gastown-status)
(require 'gastown-rigs)
(require 'gastown-work)

(defun gastown-bench-ops--ms (seconds)
  "Return SECONDS as a millisecond string."
  (format "%.1f ms" (* 1000 seconds)))

(defun gastown-bench-ops--pct (values p)
  "Return the P-th percentile of VALUES."
  (let ((sorted (sort (copy-sequence values) #'<)))
    (nth (min (1- (length sorted)) (floor (* p (length sorted)))) sorted)))

(defun gastown-bench-ops--time (fn runs)
  "Return the durations of RUNS calls of FN, each after a garbage collection."
  (let (out)
    (dotimes (_ runs)
      (garbage-collect)
      (let ((t0 (float-time)))
        (funcall fn)
        (push (- (float-time) t0) out)))
    out))

(defun gastown-bench-ops--report (label samples)
  "Print LABEL with the median and max of SAMPLES."
  (princ (format "%-58s median %s  max %s  (n=%d)\n" label
                 (gastown-bench-ops--ms (gastown-bench-ops--pct samples 0.5))
                 (gastown-bench-ops--ms (apply #'max samples)) (length samples))))

(defun gastown-bench-ops ()
  "Time the first render of the status, rigs and work buffers."
  (let* ((town (gastown--normalize-town (getenv "GASTOWN_BENCH_TOWN")))
         (runs (string-to-number (or (getenv "GASTOWN_BENCH_RUNS") "10")))
         (t0 (float-time)))
    (gastown-conn town)
    (princ (format "connect + initialize (cold server start): %s\n" (gastown-bench-ops--ms (- (float-time) t0))))
    ;; One warm-up each: the server's first town/status builds its tmux snapshot.
    (gastown-status town) (gastown-rigs town) (gastown-work town)
    (with-current-buffer (gastown-status town)
      (princ (format "status buffer: %d lines\n" (count-lines (point-min) (point-max)))))
    (with-current-buffer (gastown-work town)
      (princ (format "work buffer: %d lines\n" (count-lines (point-min) (point-max)))))
    (gastown-bench-ops--report
     "gastown-status (town/status + draw), buffer killed first"
     (gastown-bench-ops--time (lambda () (kill-buffer (gastown-status town)) (gastown-status town)) runs))
    (let ((result (gastown-request 'town/status nil town)))
      (gastown-bench-ops--report
       "  of which drawing the buffer from the answer"
       (gastown-bench-ops--time (lambda () (with-current-buffer (gastown-status town)
                                              (gastown-status--show result)))
                                runs)))
    (gastown-bench-ops--report
     "gastown-rigs (rig/list + agent/list + draw), buffer killed first"
     (gastown-bench-ops--time (lambda () (kill-buffer (gastown-rigs town)) (gastown-rigs town)) runs))
    (gastown-bench-ops--report
     "gastown-work (work/board + draw), buffer killed first"
     (gastown-bench-ops--time (lambda () (kill-buffer (gastown-work town)) (gastown-work town)) runs))
    (gastown-disconnect town)))

(provide 'emacs_ops)

;;; emacs_ops.el ends here
