;;; gastown-mq.el --- The merge queue and doctor findings  -*- lexical-binding: t -*-

;; Copyright (C) 2026 The gastown authors

;; This file is not part of GNU Emacs.

;;; Commentary:

;; `gastown-mq' shows the Refinery's merge queue in sections per state
;; (pending, running, failed, merged), each failed merge request with
;; its gate output on expansion; `r' retries one, `x' rejects one after
;; asking why.  It is kept current by the server's `$/gastown/event'
;; pushes (every merge-queue change is a ledger event).
;;
;; `gastown-doctor' shows the findings of `gt doctor' with their
;; severity and how to fix each; `g' runs the checks again.

;;; Code:

(require 'gastown)
(require 'magit-section)

(defgroup gastown-mq nil
  "The merge queue and doctor of a Gas Town."
  :group 'gastown)

(defconst gastown-mq--states
  '(("open" . "Pending") ("in_progress" . "Running") ("deferred" . "Rework")
    ("blocked" . "Failed") ("closed" . "Done"))
  "Merge request statuses, in display order, with their section titles.")

(defvar gastown-mq-mode-map
  (let ((map (make-sparse-keymap)))
    (set-keymap-parent map magit-section-mode-map)
    (define-key map (kbd "r") #'gastown-mq-retry)
    (define-key map (kbd "x") #'gastown-mq-reject)
    (define-key map (kbd "a") #'gastown-mq-toggle-all)
    (define-key map (kbd "g") #'gastown-mq-refresh)
    map)
  "Keymap of `gastown-mq-mode'.")

(define-derived-mode gastown-mq-mode magit-section-mode "Gastown-MQ"
  "Major mode showing a town's merge queue.

\\{gastown-mq-mode-map}"
  (setq-local revert-buffer-function (lambda (&rest _) (gastown-mq-refresh))))

(defvar-local gastown-mq--all nil
  "Non-nil when merged and abandoned merge requests are shown too.")

(defun gastown-mq--insert (items)
  "Insert ITEMS (from `mq/list') grouped by state into the current buffer."
  (let ((inhibit-read-only t))
    (erase-buffer)
    (magit-insert-section (gastown-mq-root)
      (if (null items)
          (insert "No merge requests\n")
        (pcase-dolist (`(,status . ,title) gastown-mq--states)
          (let ((rows (seq-filter (lambda (i) (equal (plist-get (plist-get i :mr) :status) status))
                                  items)))
            (when rows
              (magit-insert-section (gastown-mq-state status)
                (magit-insert-heading (format "%s (%d)" title (length rows)))
                (dolist (item rows) (gastown-mq--insert-mr item))
                (insert "\n")))))))))

(defun gastown-mq--insert-mr (item)
  "Insert the merge request of ITEM, its gate output as its body."
  (let* ((mr (plist-get item :mr))
         (meta (plist-get mr :meta))
         (output (gastown-str (plist-get item :gate_output)))
         (reason (gastown-str (plist-get mr :close_reason))))
    (magit-insert-section (gastown-mq-mr (gastown-str (plist-get mr :id)) t)
      (magit-insert-heading
        (format "  %s  %s  %s  %s%s"
                (propertize (gastown-str (plist-get mr :id)) 'face 'bold)
                (gastown-str (plist-get meta :branch))
                (substring (gastown-str (plist-get meta :head)) 0
                           (min 12 (length (gastown-str (plist-get meta :head)))))
                (gastown-str (plist-get meta :polecat))
                (if (string-empty-p reason) "" (concat "  " reason))))
      (unless (string-empty-p output)
        (insert (propertize (replace-regexp-in-string "^" "      " (string-trim-right output))
                            'face 'error)
                "\n")))))

(defun gastown-mq--show (items)
  "Show ITEMS in the current buffer, keeping point near where it was."
  (let ((line (line-number-at-pos)))
    (gastown-mq--insert items)
    (goto-char (point-min))
    (forward-line (1- line))))

(defun gastown-mq--params ()
  "Return the `mq/list' params of the current buffer."
  (and gastown-mq--all '(:all t)))

;;;###autoload
(defun gastown-mq (&optional town)
  "Show TOWN's merge queue in sections per state."
  (interactive (list (gastown-current-town current-prefix-arg)))
  (let* ((town (or town (gastown-current-town)))
         (buf (gastown-buffer "mq" town)))
    (gastown-conn town)
    (with-current-buffer buf
      (unless (derived-mode-p 'gastown-mq-mode)
        (gastown-mq-mode)
        (setq gastown-buffer-town town))
      (gastown-mq-refresh))
    (when (called-interactively-p 'any)
      (pop-to-buffer buf))
    buf))

(defun gastown-mq-refresh ()
  "Fetch the merge queue again."
  (interactive)
  (gastown-mq--show (gastown-result-items
                     (gastown-request 'mq/list (gastown-mq--params) gastown-buffer-town)
                     :items)))

(defun gastown-mq-toggle-all ()
  "Show or hide merged and abandoned merge requests."
  (interactive)
  (setq gastown-mq--all (not gastown-mq--all))
  (gastown-mq-refresh))

(defvar gastown-mq--timers (make-hash-table :test #'equal)
  "Map a town to its pending merge-queue refresh timer.")

(defun gastown-mq--refresh-async (town)
  "Fetch TOWN's merge queue in the background and update its buffers."
  (dolist (buf (gastown-buffers-of 'gastown-mq-mode town))
    (gastown-async 'mq/list (and (buffer-local-value 'gastown-mq--all buf) '(:all t))
                   (lambda (result)
                     (when (buffer-live-p buf)
                       (with-current-buffer buf
                         (gastown-mq--show (gastown-result-items result :items)))))
                   :town town :on-error #'ignore)))

(defun gastown-mq--on-notification (town method _params)
  "Refresh TOWN's merge-queue buffers on a ledger event (METHOD), coalesced."
  (when (and (eq method '$/gastown/event)
             (gastown-buffers-of 'gastown-mq-mode town)
             (not (gethash town gastown-mq--timers)))
    (puthash town (run-with-timer 0.2 nil
                                  (lambda ()
                                    (remhash town gastown-mq--timers)
                                    (when (gastown-connected-p town)
                                      (gastown-mq--refresh-async town))))
             gastown-mq--timers)))

(add-hook 'gastown-notification-functions #'gastown-mq--on-notification)

(defun gastown-mq--at-point ()
  "Return the id of the merge request at point."
  (let ((section (magit-current-section)))
    (while (and section (not (eq (oref section type) 'gastown-mq-mr)))
      (setq section (oref section parent)))
    (or (and section (oref section value))
        (user-error "No merge request here"))))

(defun gastown-mq-retry (id)
  "Put the failed merge request ID back in the queue.
The server refuses one that did not fail; its reason is shown."
  (interactive (list (gastown-mq--at-point)))
  (let ((mr (gastown-request 'mq/retry (list :id id) gastown-buffer-town)))
    (gastown-mq-refresh)
    (gastown-result "%s back in the queue (%s)" id (gastown-str (plist-get mr :status)))))

(defun gastown-mq-reject (id reason)
  "Reject the merge request ID for REASON, telling its polecat, after confirmation."
  (interactive (let ((id (gastown-mq--at-point)))
                 (list id (read-string (format "Reject %s because: " id)))))
  (when (or (not (called-interactively-p 'any))
            (yes-or-no-p (format "Reject %s (%s)? " id reason)))
    (let ((out (gastown-request 'mq/reject (list :id id :reason reason) gastown-buffer-town)))
      (gastown-mq-refresh)
      (gastown-result "%s %s" id (gastown-str (plist-get (plist-get out :mr) :close_reason))))))

;;; Doctor

(defvar gastown-doctor-mode-map
  (let ((map (make-sparse-keymap)))
    (set-keymap-parent map magit-section-mode-map)
    (define-key map (kbd "g") #'gastown-doctor-refresh)
    map)
  "Keymap of `gastown-doctor-mode'.")

(define-derived-mode gastown-doctor-mode magit-section-mode "Gastown-Doctor"
  "Major mode showing the findings of `gt doctor'.

\\{gastown-doctor-mode-map}"
  (setq-local revert-buffer-function (lambda (&rest _) (gastown-doctor-refresh))))

(defun gastown-doctor--face (severity)
  "Return the face for a finding of SEVERITY."
  (pcase severity ("error" 'error) ("warning" 'warning) ("ok" 'success) (_ 'default)))

(defun gastown-doctor--insert (report)
  "Insert the doctor REPORT into the current buffer, problems first."
  (let* ((inhibit-read-only t)
         (rank (lambda (f) (pcase (plist-get f :severity) ("error" 0) ("warning" 1) (_ 2))))
         (findings (sort (gastown-seq (plist-get report :findings))
                         (lambda (a b) (< (funcall rank a) (funcall rank b))))))
    (erase-buffer)
    (magit-insert-section (gastown-doctor-root)
      (magit-insert-heading
        (format "Doctor: %s  %d error(s), %d warning(s)"
                (gastown-str (plist-get report :town))
                (or (plist-get report :errors) 0) (or (plist-get report :warnings) 0)))
      (dolist (f findings)
        (let ((sev (gastown-str (plist-get f :severity)))
              (fix (gastown-str (plist-get f :fix))))
          (magit-insert-section (gastown-doctor-finding (plist-get f :check) (equal sev "ok"))
            (magit-insert-heading
              (format "  %-8s %-16s %s" (propertize sev 'face (gastown-doctor--face sev))
                      (gastown-str (plist-get f :check)) (gastown-str (plist-get f :message))))
            (unless (string-empty-p fix)
              (insert (format "      fix: %s%s\n" fix
                              (if (gastown-true-p (plist-get f :fixable)) "  (gt doctor --fix)" ""))))))))))

;;;###autoload
(defun gastown-doctor (&optional town)
  "Run `gt doctor' on TOWN and show its findings with how to fix each."
  (interactive (list (gastown-current-town current-prefix-arg)))
  (let* ((town (or town (gastown-current-town)))
         (buf (gastown-buffer "doctor" town)))
    (gastown-conn town)
    (with-current-buffer buf
      (unless (derived-mode-p 'gastown-doctor-mode)
        (gastown-doctor-mode)
        (setq gastown-buffer-town town))
      (gastown-doctor-refresh))
    (when (called-interactively-p 'any)
      (pop-to-buffer buf))
    buf))

(defun gastown-doctor-refresh ()
  "Run the doctor again."
  (interactive)
  (gastown-doctor--insert (gastown-request 'doctor/run nil gastown-buffer-town))
  (goto-char (point-min)))

(provide 'gastown-mq)

;;; gastown-mq.el ends here
