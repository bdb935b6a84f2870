;;; gastown-batch.el --- Batch checks for the gastown Emacs client  -*- lexical-binding: t -*-

;;; Commentary:

;; Used by run-tests.sh:
;;   emacs --batch -Q -l test/gastown-batch.el -f gastown-batch-compile
;;   emacs --batch -Q -l test/gastown-batch.el -f gastown-batch-checkdoc
;;   emacs --batch -Q -l test/gastown-batch.el -f gastown-batch-test [SELECTOR]
;; Each exits non-zero on any warning or failure.  The dependencies
;; (magit-section, transient) are found on the load path, through
;; package.el, or in Debian's elpa directories, whichever works.

;;; Code:

(require 'cl-lib)

(defconst gastown-batch-dir
  (file-name-directory (directory-file-name
                        (file-name-directory (or load-file-name buffer-file-name))))
  "The clients/emacs directory.")

(defconst gastown-batch-sources
  '("gastown.el" "gastown-transcript.el" "gastown-convoys.el" "gastown-mail.el"
    "gastown-agents.el" "gastown-beads.el" "gastown-mq.el" "gastown-status.el"
    "gastown-polecats.el" "gastown-rigs.el" "gastown-formula.el" "gastown-work.el"
    "gastown-beadlist.el"
    "gastown-dispatch.el")
  "Files of the package, in load order.")

(defun gastown-batch-setup-load-path ()
  "Make the package and its dependencies loadable."
  (add-to-list 'load-path gastown-batch-dir)
  (add-to-list 'load-path (expand-file-name "test" gastown-batch-dir))
  (dolist (dir (split-string (or (getenv "GASTOWN_EMACS_LOAD_PATH") "") ":" t))
    (add-to-list 'load-path dir))
  (unless (and (locate-library "magit-section") (locate-library "transient"))
    (require 'package)
    (package-initialize))
  (unless (and (locate-library "magit-section") (locate-library "transient"))
    (dolist (root '("/usr/share/emacs/site-lisp/elpa" "/usr/share/emacs/site-lisp/elpa-src"
                    "~/.emacs.d/elpa"))
      (when (file-directory-p root)
        (dolist (dir (directory-files (expand-file-name root) t "\\`[^.]"))
          (when (file-directory-p dir)
            (add-to-list 'load-path dir))))))
  (dolist (lib '("magit-section" "transient"))
    (unless (locate-library lib)
      (message "gastown-batch: cannot find %s; install it (M-x package-install, or \
apt-get install elpa-%s) or set GASTOWN_EMACS_LOAD_PATH" lib lib)
      (kill-emacs 2))))

(gastown-batch-setup-load-path)

(defun gastown-batch-compile ()
  "Byte-compile every source into a temporary directory; fail on any warning."
  (let* ((out (make-temp-file "gastown-elc" t))
         (byte-compile-dest-file-function
          (lambda (src) (expand-file-name (concat (file-name-nondirectory src) "c") out)))
         (byte-compile-error-on-warn t)
         (failed nil))
    (unwind-protect
        (dolist (f gastown-batch-sources)
          (let ((file (expand-file-name f gastown-batch-dir)))
            (unless (byte-compile-file file)
              (push f failed))))
      (delete-directory out t))
    (if failed
        (progn (message "gastown-batch: byte-compile failed: %s" (string-join failed ", "))
               (kill-emacs 1))
      (message "gastown-batch: %d files byte-compile cleanly" (length gastown-batch-sources))
      (kill-emacs 0))))

(defun gastown-batch-checkdoc ()
  "Run `checkdoc' on every source; fail on any complaint."
  (require 'checkdoc)
  (let ((problems nil))
    (dolist (f gastown-batch-sources)
      (let ((file (expand-file-name f gastown-batch-dir)))
        (cl-letf (((symbol-function 'checkdoc-error)
                   (lambda (point msg)
                     (push (format "%s:%d: %s" f
                                   (if point (line-number-at-pos point) 0) msg)
                           problems))))
          (with-current-buffer (find-file-noselect file)
            (let ((checkdoc-diagnostic-buffer "*warn*")
                  (checkdoc-autofix-flag 'never))
              (checkdoc-current-buffer t))))))
    (if problems
        (progn (dolist (p (nreverse problems)) (message "checkdoc: %s" p))
               (kill-emacs 1))
      (message "gastown-batch: checkdoc clean on %d files" (length gastown-batch-sources))
      (kill-emacs 0))))

(defun gastown-batch-load-compiled ()
  "Byte-compile the package into a temporary directory and load it from there.
Benchmarks measure the code as users run it: compiled."
  (let* ((out (make-temp-file "gastown-elc" t))
         (byte-compile-dest-file-function
          (lambda (src) (expand-file-name (concat (file-name-nondirectory src) "c") out))))
    (add-to-list 'load-path out)
    (dolist (f gastown-batch-sources)
      (let ((src (expand-file-name f gastown-batch-dir)))
        (unless (byte-compile-file src)
          (error "Cannot compile %s" f))
        (load (funcall byte-compile-dest-file-function src) nil t)))))

(defun gastown-batch-test ()
  "Load the package and run the ERT tests (selector from the command line)."
  (dolist (f gastown-batch-sources)
    (load (expand-file-name f gastown-batch-dir) nil t))
  (load (expand-file-name "test/gastown-tests.el" gastown-batch-dir) nil t)
  (load (expand-file-name "test/gastown-ops-tests.el" gastown-batch-dir) nil t)
  (load (expand-file-name "test/gastown-beadlist-tests.el" gastown-batch-dir) nil t)
  (let ((selector (if command-line-args-left
                      (read (pop command-line-args-left))
                    t)))
    (ert-run-tests-batch-and-exit selector)))

(provide 'gastown-batch)

;;; gastown-batch.el ends here
