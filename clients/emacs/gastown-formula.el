;;; gastown-formula.el --- Run a formula from a form of its variables  -*- lexical-binding: t -*-

;; Copyright (C) 2026 The gastown authors

;; This file is not part of GNU Emacs.

;;; Commentary:

;; `gastown-formula-run' asks for a formula (`formula/list') and opens
;; a form with one field per variable (`formula/show': description,
;; default, required), an assignee and a [Pour] button.  Pouring is one
;; `formula/pour' call; a required variable left empty is refused by
;; the server with `data.missing', and the form says so on its first
;; line and marks each missing field.  After a pour the molecule's
;; progress buffer opens (see gastown-polecats.el).
;; `gastown-formula-dispatch' puts each verb two keys away.

;;; Code:

(require 'gastown)
(require 'transient)
(require 'wid-edit)
(require 'gastown-polecats)

(defvar-local gastown-formula--name nil
  "The formula the form pours.")

(defvar-local gastown-formula--fields nil
  "Alist of variable name to its editable-field widget.")

(defvar-local gastown-formula--assignee nil
  "The widget holding who walks the molecule.")

(defvar-local gastown-formula--status nil
  "Marker of the form's status line (errors and results).")

(defvar-local gastown-formula-last-pour nil
  "The `formula/pour' result of the form's last pour.")

(defvar gastown-formula-mode-map
  (let ((map (make-sparse-keymap)))
    (set-keymap-parent map widget-keymap)
    (define-key map (kbd "C-c C-c") #'gastown-formula-pour)
    map)
  "Keymap of the formula form.")

(define-derived-mode gastown-formula-mode fundamental-mode "Gastown-Formula"
  "Major mode of a form pouring a formula.

\\{gastown-formula-mode-map}")

(defun gastown-formula-names (town)
  "Return the names of TOWN's formulas."
  (mapcar (lambda (f) (plist-get f :name))
          (gastown-result-items (gastown-request 'formula/list nil town) :formulas)))

(defun gastown-formula--set-status (text &optional face)
  "Show TEXT (in FACE) on the form's status line."
  (save-excursion
    (let ((inhibit-read-only t))
      (goto-char gastown-formula--status)
      (delete-region (point) (line-end-position))
      (insert (propertize text 'face (or face 'default))))))

(defun gastown-formula--insert-form (formula)
  "Insert the form for FORMULA (a `formula/show' result)."
  (let ((inhibit-read-only t)
        (vars (plist-get formula :vars)))
    (erase-buffer)
    (remove-overlays)
    (widget-insert (propertize (format "Run formula %s" (plist-get formula :name)) 'face 'bold)
                   (format "  (%s, %s steps)\n" (gastown-str (plist-get formula :layer))
                           (gastown-str (plist-get formula :step_count))))
    (widget-insert (gastown-str (plist-get formula :description)) "\n")
    (setq gastown-formula--status (point-marker))
    (widget-insert "\n\n")
    (setq gastown-formula--fields nil)
    (cl-loop for (key spec) on vars by #'cddr do
             (let* ((name (substring (symbol-name key) 1))
                    (required (gastown-true-p (plist-get spec :required)))
                    (default (plist-get spec :default)))
               (widget-insert (format "%-14s" (concat name (if required " *" ""))))
               (push (cons name (widget-create 'editable-field :size 30 :format "%v"
                                               (pcase default
                                                 ('nil "") ('t "true") (:json-false "false")
                                                 (_ (gastown-str default)))))
                     gastown-formula--fields)
               (widget-insert "  " (propertize (gastown-str (plist-get spec :description)) 'face 'shadow)
                              "\n")))
    (setq gastown-formula--fields (nreverse gastown-formula--fields))
    (when (null gastown-formula--fields)
      (widget-insert "(no variables)\n"))
    (widget-insert (format "%-14s" "assignee"))
    (setq gastown-formula--assignee (widget-create 'editable-field :size 30 :format "%v" ""))
    (widget-insert "  " (propertize "who walks the molecule (optional)" 'face 'shadow) "\n\n")
    (widget-create 'push-button :notify (lambda (&rest _) (gastown-formula-pour)) "Pour")
    (widget-insert "   * required   C-c C-c pours\n")
    (use-local-map gastown-formula-mode-map)
    (widget-setup)
    (goto-char (point-min))
    (widget-forward 1)))

;;;###autoload
(defun gastown-formula-run (name &optional town)
  "Open a form to pour formula NAME of TOWN with its variables."
  (interactive (let ((town (or gastown-buffer-town (gastown-current-town))))
                 (list (completing-read "Run formula: " (gastown-formula-names town) nil t) town)))
  (let* ((town (or town (gastown-current-town)))
         (formula (gastown-request 'formula/show (list :name name) town))
         (buf (gastown-buffer "formula" town name)))
    (with-current-buffer buf
      (gastown-formula-mode)
      (setq gastown-buffer-town town
            gastown-formula--name name)
      (gastown-formula--insert-form formula))
    (when (called-interactively-p 'any)
      (pop-to-buffer buf))
    buf))

(defun gastown-formula-form-set (name value)
  "Set the form's field of variable NAME (or \"assignee\") to VALUE."
  (let ((w (if (equal name "assignee") gastown-formula--assignee
             (or (cdr (assoc name gastown-formula--fields))
                 (user-error "No variable %s in this form" name)))))
    (widget-value-set w value)
    (widget-setup)))

(defun gastown-formula--mark (missing)
  "Mark the fields of the MISSING variables, unmark the others."
  (pcase-dolist (`(,name . ,w) gastown-formula--fields)
    (overlay-put (widget-get w :field-overlay) 'face
                 (if (member name missing) 'error 'widget-field))))

(defun gastown-formula-pour ()
  "Pour the form's formula with the variables filled in."
  (interactive)
  (let* ((vars (cl-loop for (name . w) in gastown-formula--fields
                        for v = (string-trim (widget-value w))
                        unless (string-empty-p v) append (list (intern (concat ":" name)) v)))
         (assignee (string-trim (widget-value gastown-formula--assignee)))
         (params (append (list :name gastown-formula--name :vars (or vars (make-hash-table)))
                         (unless (string-empty-p assignee) (list :assignee assignee))))
         (town gastown-buffer-town)
         (conn (gastown-conn town)))
    (condition-case err
        (let ((res (jsonrpc-request conn 'formula/pour params :timeout gastown-request-timeout)))
          (setq gastown-formula-last-pour res)
          (gastown-formula--mark nil)
          (gastown-formula--set-status
           (format "Poured %s (%s steps)" (plist-get res :id) (plist-get res :steps)) 'success)
          (gastown-result "Gastown: poured %s from %s" (plist-get res :id) gastown-formula--name)
          (display-buffer (gastown-molecule nil town (plist-get res :id)))
          res)
      (jsonrpc-error
       (let* ((data (alist-get 'jsonrpc-error-data (cdr err)))
              (missing (gastown-seq (plist-get data :missing))))
         (gastown-formula--mark missing)
         (gastown-formula--set-status (gastown--error-text err) 'error)
         (user-error "Gastown: %s" (gastown--error-text err)))))))

;;;###autoload (autoload 'gastown-formula-dispatch "gastown-formula" nil t)
(transient-define-prefix gastown-formula-dispatch ()
  "Formulas: run one from a form; molecule progress."
  [["Formula"
    ("r" "Run (a form of its variables)" gastown-formula-run)
    ("m" "Molecule progress of an agent" gastown-molecule)]])

(provide 'gastown-formula)

;;; gastown-formula.el ends here
