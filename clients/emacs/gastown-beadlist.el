;;; gastown-beadlist.el --- Every bead: search, filters, marks, bulk edits, dependencies  -*- lexical-binding: t -*-

;; Copyright (C) 2026 The gastown authors

;; This file is not part of GNU Emacs.

;;; Commentary:

;; `gastown-beadlist' lists a town's beads beyond convoys, a page at a
;; time: text search (/), filter presets (f: open, ready, blocked, in
;; progress, mine, closed, all), by type, label or rig (t, l, r), sort
;; modes (o, O reverses), closed beads on or off (A), pages ([ and ]).
;; Mark beads with m (u unmarks, U unmarks all, M marks every shown
;; bead) and change the marked ones at once: status (S), priority (P),
;; assignee (a), labels (+ and -), close (k).  Without marks a verb acts
;; on the bead at point.  e edits one field in place, c creates a bead,
;; RET opens it.  d shows its dependency tree (blockers and dependents,
;; expandable), G a picture of the dependency graph (SVG where Emacs
;; can show it, text otherwise).  ? is one transient with every verb.
;;
;; The list, tree and graph update themselves from the server's feed
;; events; nothing polls.  Bulk changes use `bead/bulkUpdate', which
;; changes every marked bead or, when the server refuses one, none.

;;; Code:

(require 'gastown)
(require 'gastown-beads)
(require 'gastown-convoys)
(require 'magit-section)
(require 'transient)
(require 'svg)

(defgroup gastown-beadlist nil
  "The bead list, its bulk edits and dependency views."
  :group 'gastown)

(defcustom gastown-beadlist-page-size 500
  "How many beads one page of the bead list shows."
  :type 'integer)

(defcustom gastown-beadlist-default-preset "open"
  "The filter preset a new bead list starts with."
  :type '(choice (const "open") (const "ready") (const "blocked")
                 (const "in_progress") (const "mine") (const "closed") (const "all")))

(defcustom gastown-beadlist-default-sort "priority"
  "The sort mode a new bead list starts with."
  :type '(choice (const "priority") (const "updated") (const "created")
                 (const "status") (const "id") (const "title")))

(defconst gastown-beadlist-presets
  '("open" "ready" "blocked" "in_progress" "mine" "closed" "all")
  "Filter presets the server's `bead/list' knows.")

(defconst gastown-beadlist-sorts '("priority" "updated" "created" "status" "id" "title")
  "Sort modes the server's `bead/list' knows.")

(defconst gastown-beadlist-statuses
  '("open" "in_progress" "blocked" "deferred" "hooked" "pinned" "closed")
  "Statuses offered when changing one.")

(defface gastown-beadlist-mark '((t :inherit warning :weight bold))
  "Face of the mark of a marked bead.")

(defface gastown-beadlist-label '((t :inherit font-lock-type-face))
  "Face of labels in the bead list.")

;;;; State

(defvar-local gastown-beadlist--query nil "Text searched, or nil.")
(defvar-local gastown-beadlist--preset nil "Filter preset in force.")
(defvar-local gastown-beadlist--sort nil "Sort mode in force.")
(defvar-local gastown-beadlist--desc nil "Non-nil: the order is reversed.")
(defvar-local gastown-beadlist--show-closed nil "Non-nil: closed beads are listed too.")
(defvar-local gastown-beadlist--type nil "Issue type shown only, or nil.")
(defvar-local gastown-beadlist--label nil "Label shown only, or nil.")
(defvar-local gastown-beadlist--rig nil "Rig (name . prefix) shown only, or nil.")
(defvar-local gastown-beadlist--offset 0 "First bead of the page shown.")
(defvar-local gastown-beadlist--beads nil "Beads of the page shown, in order.")
(defvar-local gastown-beadlist--total nil "How many beads match, or nil before the first load.")
(defvar-local gastown-beadlist--marks nil "Hash table of the marked bead ids.")
(defvar-local gastown-beadlist--generation 0 "Number of the latest load (older answers are dropped).")
(defvar-local gastown-beadlist--timer nil "Pending reload timer.")

(defvar-local gastown-bead-deps--id nil "The bead whose dependencies the buffer shows.")
(defvar-local gastown-bead-deps--data nil "The last `bead/deps' answer.")
(defvar-local gastown-bead-deps--timer nil "Pending reload timer.")

(defvar gastown-beadlist-after-render-hook nil
  "Hook run in a bead list after it is drawn.")

;;;; Mode

(defvar gastown-beadlist-mode-map
  (let ((map (make-sparse-keymap)))
    (set-keymap-parent map magit-section-mode-map)
    (define-key map (kbd "g") #'gastown-beadlist-refresh)
    (define-key map (kbd "RET") #'gastown-beadlist-visit)
    (define-key map (kbd "/") #'gastown-beadlist-search)
    (define-key map (kbd "f") #'gastown-beadlist-set-preset)
    (define-key map (kbd "o") #'gastown-beadlist-set-sort)
    (define-key map (kbd "O") #'gastown-beadlist-reverse)
    (define-key map (kbd "A") #'gastown-beadlist-toggle-closed)
    (define-key map (kbd "t") #'gastown-beadlist-filter-type)
    (define-key map (kbd "l") #'gastown-beadlist-filter-label)
    (define-key map (kbd "r") #'gastown-beadlist-filter-rig)
    (define-key map (kbd "x") #'gastown-beadlist-clear-filters)
    (define-key map (kbd "]") #'gastown-beadlist-next-page)
    (define-key map (kbd "[") #'gastown-beadlist-previous-page)
    (define-key map (kbd "m") #'gastown-beadlist-mark)
    (define-key map (kbd "u") #'gastown-beadlist-unmark)
    (define-key map (kbd "U") #'gastown-beadlist-unmark-all)
    (define-key map (kbd "M") #'gastown-beadlist-mark-all)
    (define-key map (kbd "S") #'gastown-beadlist-set-status)
    (define-key map (kbd "P") #'gastown-beadlist-set-priority)
    (define-key map (kbd "a") #'gastown-beadlist-set-assignee)
    (define-key map (kbd "+") #'gastown-beadlist-add-label)
    (define-key map (kbd "-") #'gastown-beadlist-remove-label)
    (define-key map (kbd "k") #'gastown-beadlist-close)
    (define-key map (kbd "e") #'gastown-beadlist-edit)
    (define-key map (kbd "c") #'gastown-beadlist-create)
    (define-key map (kbd "d") #'gastown-beadlist-deps)
    (define-key map (kbd "G") #'gastown-beadlist-graph)
    (define-key map (kbd "n") #'next-line)
    (define-key map (kbd "p") #'previous-line)
    (define-key map (kbd "b") #'gastown-bead-dep-add)
    (define-key map (kbd "B") #'gastown-bead-dep-remove)
    (define-key map (kbd "?") #'gastown-bead-verbs)
    map)
  "Keymap of `gastown-beadlist-mode'.")

(define-derived-mode gastown-beadlist-mode magit-section-mode "Gastown-Beads"
  "Major mode listing a town's beads, updated as they change.

\\{gastown-beadlist-mode-map}"
  (setq-local header-line-format '(:eval (gastown-beadlist--header)))
  (setq-local magit-section-highlight-hook nil)
  (hl-line-mode 1)
  (buffer-disable-undo)
  (setq gastown-beadlist--marks (make-hash-table :test #'equal))
  (setq-local revert-buffer-function (lambda (&rest _) (gastown-beadlist-refresh))))

;;;; Loading

(defun gastown-beadlist--params ()
  "Return the `bead/list' params of the current view."
  (append (list :preset gastown-beadlist--preset
                :sort gastown-beadlist--sort
                :desc (if gastown-beadlist--desc t :json-false)
                :all (if gastown-beadlist--show-closed t :json-false)
                :work_only (if gastown-beadlist--type :json-false t)
                :offset gastown-beadlist--offset
                :limit gastown-beadlist-page-size
                :count t)
          (and gastown-beadlist--query (list :q gastown-beadlist--query))
          (and gastown-beadlist--type (list :type gastown-beadlist--type))
          (and gastown-beadlist--label (list :label gastown-beadlist--label))
          (and gastown-beadlist--rig (list :prefix (cdr gastown-beadlist--rig)))))

(defun gastown-beadlist--load ()
  "Fetch the page shown and draw it, unless a newer fetch started since."
  (let ((buf (current-buffer))
        (gen (cl-incf gastown-beadlist--generation)))
    (gastown-gc-hold)
    (gastown-async
     'bead/list (gastown-beadlist--params)
     (lambda (res)
       (unwind-protect
           (when (buffer-live-p buf)
             (with-current-buffer buf
               (when (= gen gastown-beadlist--generation)
                 (setq gastown-beadlist--beads (gastown-result-items res :beads)
                       gastown-beadlist--total (plist-get res :total))
                 (gastown-beadlist--render))))
         (gastown-gc-release)))
     :town gastown-buffer-town
     :on-error (lambda (msg)
                 (gastown-gc-release)
                 (message "Gastown: %s" msg)))))

(defun gastown-beadlist--schedule ()
  "Reload the page soon: one reload for a burst of events."
  (unless gastown-beadlist--timer
    (setq gastown-beadlist--timer
          (run-with-timer 0 nil #'gastown-beadlist--flush (current-buffer)))))

(defun gastown-beadlist--flush (buf)
  "Reload bead list BUF."
  (when (buffer-live-p buf)
    (with-current-buffer buf
      (setq gastown-beadlist--timer nil)
      (gastown-beadlist--load))))

;;;; Drawing

(defun gastown-beadlist--header ()
  "Return the header line: town, filters, sort and page."
  (concat (gastown-header-line)
          (format "  [%s%s%s%s%s] sort %s%s"
                  gastown-beadlist--preset
                  (if gastown-beadlist--show-closed "+closed" "")
                  (if gastown-beadlist--type (concat " type:" gastown-beadlist--type) "")
                  (if gastown-beadlist--label (concat " label:" gastown-beadlist--label) "")
                  (if gastown-beadlist--rig (concat " rig:" (car gastown-beadlist--rig)) "")
                  gastown-beadlist--sort (if gastown-beadlist--desc " (rev)" ""))
          (if gastown-beadlist--query (format "  /%s/" gastown-beadlist--query) "")
          (let ((n (hash-table-count gastown-beadlist--marks)))
            (if (> n 0) (format "  %d marked" n) ""))))

(defun gastown-beadlist--range ()
  "Return \"1-500 of 2143\" for the page shown."
  (let ((n (length gastown-beadlist--beads)))
    (if (zerop n)
        (format "0 of %s" (or gastown-beadlist--total 0))
      (format "%d-%d of %s" (1+ gastown-beadlist--offset) (+ gastown-beadlist--offset n)
              (or gastown-beadlist--total "?")))))

(defun gastown-beadlist--line (bead)
  "Return the line showing BEAD (a plist) in the list."
  (let* ((id (gastown-str (plist-get bead :id)))
         (status (gastown-str (plist-get bead :status)))
         (labels (gastown-seq (plist-get bead :labels)))
         (mark (if (gethash id gastown-beadlist--marks) "*" " "))
         (head (format "%s %-12s P%s %-11s %-8s %-22s %s"
                       mark id (gastown-str (plist-get bead :priority)) status
                       (gastown-str (plist-get bead :issue_type))
                       (gastown-str (plist-get bead :assignee))
                       (gastown-str (plist-get bead :title))))
         (line (concat head
                       (if labels (concat "  " (mapconcat (lambda (l) (concat "#" l)) labels " "))
                         "")
                       "\n")))
    ;; Fixed columns: faces by position, no intermediate strings.
    (put-text-property 0 1 'face 'gastown-beadlist-mark line)
    (put-text-property 2 14 'face 'gastown-bead-id line)
    (put-text-property 18 29 'face (gastown-status-face status) line)
    (put-text-property 39 61 'face 'gastown-assignee line)
    (when labels
      (put-text-property (+ 2 (length head)) (1- (length line)) 'face 'gastown-beadlist-label line))
    (put-text-property 0 (length line) 'gastown-bead id line)
    line))

(defun gastown-beadlist--render ()
  "Draw the page held, keeping point on the same bead when it is still shown."
  (let ((gc-cons-threshold (max gc-cons-threshold gastown-convoys-render-gc-cons-threshold))
        (inhibit-read-only t)
        (here (get-text-property (line-beginning-position) 'gastown-bead))
        (line (line-number-at-pos))
        (col (current-column))
        (windows (cl-loop for w in (get-buffer-window-list nil nil t)
                          collect (cons w (window-start w)))))
    (erase-buffer)
    (setq magit-section-highlighted-sections nil
          magit-section-unhighlight-sections nil
          magit-section-pre-command-section nil)
    (magit-insert-section (gastown-beadlist-root)
      (magit-insert-heading
        (propertize (format "Beads (%s)" (gastown-beadlist--range)) 'face 'magit-section-heading)
        "\n")
      (if gastown-beadlist--beads
          (insert (apply #'concat (mapcar #'gastown-beadlist--line gastown-beadlist--beads)))
        (insert (if gastown-beadlist--query
                    (format "No bead matches \"%s\".  Press / to search again, x to clear filters.\n"
                            gastown-beadlist--query)
                  "No beads here.  Press c to create one, f or x to change the filter.\n"))))
    (let ((found (and here (gastown-find-property 'gastown-bead here))))
      (if found
          (goto-char found)
        (goto-char (point-min))
        (forward-line (1- line)))
      (move-to-column col))
    (dolist (ws windows)
      (set-window-start (car ws) (min (cdr ws) (point-max)) t)
      (set-window-point (car ws) (point)))
    (run-hooks 'gastown-beadlist-after-render-hook)))

(defun gastown-beadlist--redraw-mark (id)
  "Redraw the mark column of bead ID's line."
  (let ((pos (gastown-find-property 'gastown-bead id))
        (inhibit-read-only t))
    (when pos
      (save-excursion
        (goto-char pos)
        (let ((props (text-properties-at (point))))
          (delete-char 1)
          (insert (apply #'propertize (if (gethash id gastown-beadlist--marks) "*" " ") props)))))))

;;;; Live update

(defun gastown-beadlist--on-notification (town method params)
  "Reload TOWN's bead lists when a feed event (METHOD, PARAMS) touches a bead."
  (when (and (eq method '$/gastown/event)
             (gastown-get (or (plist-get params :event) params) :bead_id :issue_id))
    (dolist (buf (gastown-buffers-of 'gastown-beadlist-mode town))
      (with-current-buffer buf (gastown-beadlist--schedule)))
    (dolist (buf (append (gastown-buffers-of 'gastown-bead-deps-mode town)
                         (gastown-buffers-of 'gastown-bead-graph-mode town)))
      (with-current-buffer buf (gastown-bead-deps--schedule)))))

(add-hook 'gastown-notification-functions #'gastown-beadlist--on-notification)

(defun gastown-beadlist--on-connected (town)
  "Reload TOWN's bead lists after a reconnection."
  (dolist (buf (gastown-buffers-of 'gastown-beadlist-mode town))
    (with-current-buffer buf (gastown-beadlist--schedule))))

(add-hook 'gastown-connected-functions #'gastown-beadlist--on-connected)

;;;; Commands: the view

;;;###autoload
(defun gastown-beadlist (&optional town)
  "List TOWN's beads (open work by default) in pages, updated live.
With a prefix argument, ask for the town."
  (interactive (list (gastown-current-town current-prefix-arg)))
  (let* ((town (or town (gastown-current-town)))
         (buf (gastown-buffer "beads" town)))
    (gastown-conn town)
    (with-current-buffer buf
      (unless (derived-mode-p 'gastown-beadlist-mode)
        (gastown-beadlist-mode)
        (setq gastown-buffer-town town
              gastown-beadlist--preset gastown-beadlist-default-preset
              gastown-beadlist--sort gastown-beadlist-default-sort))
      (gastown-beadlist--load))
    (when (called-interactively-p 'any)
      (pop-to-buffer buf))
    buf))

(defun gastown-beadlist-refresh ()
  "Fetch the page again."
  (interactive)
  (gastown-beadlist--load))

(defun gastown-beadlist--reset-page ()
  "Go back to the first page and reload (a filter changed)."
  (setq gastown-beadlist--offset 0)
  (gastown-beadlist--load))

(defun gastown-beadlist-search (query)
  "Show only beads whose id, title, description or assignee contain QUERY.
An empty QUERY shows every bead of the filter again."
  (interactive (list (read-string "Search beads (empty: all): " gastown-beadlist--query)))
  (setq gastown-beadlist--query (and query (not (string-empty-p (string-trim query)))
                                     (string-trim query)))
  (gastown-beadlist--reset-page))

(defun gastown-beadlist-set-preset (preset)
  "Show the beads of filter PRESET (open, ready, blocked, in_progress, mine...)."
  (interactive (list (completing-read "Filter: " gastown-beadlist-presets nil t nil nil
                                      gastown-beadlist--preset)))
  (setq gastown-beadlist--preset preset)
  (gastown-beadlist--reset-page))

(defun gastown-beadlist-set-sort (sort)
  "Order the list by SORT (priority, updated, created, status, id, title)."
  (interactive (list (completing-read "Sort by: " gastown-beadlist-sorts nil t nil nil
                                      gastown-beadlist--sort)))
  (setq gastown-beadlist--sort sort)
  (gastown-beadlist--reset-page))

(defun gastown-beadlist-reverse ()
  "Reverse the order of the list."
  (interactive)
  (setq gastown-beadlist--desc (not gastown-beadlist--desc))
  (gastown-beadlist--reset-page))

(defun gastown-beadlist-toggle-closed ()
  "Show or hide closed beads."
  (interactive)
  (setq gastown-beadlist--show-closed (not gastown-beadlist--show-closed))
  (gastown-beadlist--reset-page)
  (message "Gastown: closed beads %s" (if gastown-beadlist--show-closed "shown" "hidden")))

(defun gastown-beadlist-filter-type (type)
  "Show only beads of TYPE (empty: every work type)."
  (interactive (list (completing-read "Type (empty: all work): "
                                      '("task" "bug" "feature" "epic" "chore" "decision" "spike"
                                        "story" "milestone" "convoy" "message" "molecule"
                                        "merge-request" "gate" "agent"))))
  (setq gastown-beadlist--type (and (not (string-empty-p type)) type))
  (gastown-beadlist--reset-page))

(defun gastown-beadlist-filter-label (label)
  "Show only beads labelled LABEL (empty: every label)."
  (interactive (list (read-string "Label (empty: all): " gastown-beadlist--label)))
  (setq gastown-beadlist--label (and (not (string-empty-p label)) label))
  (gastown-beadlist--reset-page))

(defun gastown-beadlist--rigs ()
  "Return the rigs of the town as (NAME . PREFIX) pairs."
  (delq nil (mapcar (lambda (r)
                      (and (listp r) (plist-get r :prefix)
                           (cons (gastown-str (plist-get r :name))
                                 (gastown-str (plist-get r :prefix)))))
                    (gastown-result-items (gastown-request 'rig/list nil gastown-buffer-town)
                                          :rigs :items))))

(defun gastown-beadlist-filter-rig (rig)
  "Show only the beads of RIG, by its bead id prefix (empty: every rig)."
  (interactive (list (completing-read "Rig (empty: all): "
                                      (mapcar #'car (gastown-beadlist--rigs)))))
  (setq gastown-beadlist--rig (and (not (string-empty-p rig))
                                   (or (assoc rig (gastown-beadlist--rigs))
                                       (user-error "Gastown: no rig %s" rig))))
  (gastown-beadlist--reset-page))

(defun gastown-beadlist-clear-filters ()
  "Drop the search and the type, label and rig filters."
  (interactive)
  (setq gastown-beadlist--query nil gastown-beadlist--type nil
        gastown-beadlist--label nil gastown-beadlist--rig nil)
  (gastown-beadlist--reset-page))

(defun gastown-beadlist-next-page ()
  "Show the next page of beads."
  (interactive)
  (let ((next (+ gastown-beadlist--offset gastown-beadlist-page-size)))
    (if (and gastown-beadlist--total (>= next gastown-beadlist--total))
        (user-error "Gastown: this is the last page")
      (setq gastown-beadlist--offset next)
      (gastown-beadlist--load))))

(defun gastown-beadlist-previous-page ()
  "Show the previous page of beads."
  (interactive)
  (if (<= gastown-beadlist--offset 0)
      (user-error "Gastown: this is the first page")
    (setq gastown-beadlist--offset (max 0 (- gastown-beadlist--offset gastown-beadlist-page-size)))
    (gastown-beadlist--load)))

;;;; Marks

(defun gastown-beadlist-bead-at-point ()
  "Return the id of the bead on this line, or nil."
  (get-text-property (line-beginning-position) 'gastown-bead))

(defun gastown-beadlist-mark ()
  "Mark the bead on this line and move to the next."
  (interactive)
  (let ((id (or (gastown-beadlist-bead-at-point) (user-error "No bead on this line"))))
    (puthash id t gastown-beadlist--marks)
    (gastown-beadlist--redraw-mark id)
    (forward-line 1)))

(defun gastown-beadlist-unmark ()
  "Unmark the bead on this line and move to the next."
  (interactive)
  (let ((id (or (gastown-beadlist-bead-at-point) (user-error "No bead on this line"))))
    (remhash id gastown-beadlist--marks)
    (gastown-beadlist--redraw-mark id)
    (forward-line 1)))

(defun gastown-beadlist-mark-all ()
  "Mark every bead of the page shown."
  (interactive)
  (dolist (b gastown-beadlist--beads)
    (puthash (plist-get b :id) t gastown-beadlist--marks))
  (gastown-beadlist--render))

(defun gastown-beadlist-unmark-all ()
  "Unmark every bead."
  (interactive)
  (clrhash gastown-beadlist--marks)
  (gastown-beadlist--render))

(defun gastown-beadlist-marked ()
  "Return the marked bead ids in list order, else the bead at point (a list)."
  (let ((marked (cl-loop for b in gastown-beadlist--beads
                         for id = (plist-get b :id)
                         when (gethash id gastown-beadlist--marks) collect id)))
    ;; Marks on other pages count too (after the ones shown).
    (maphash (lambda (id _) (unless (member id marked) (setq marked (append marked (list id)))))
             gastown-beadlist--marks)
    (or marked
        (let ((id (gastown-beadlist-bead-at-point)))
          (and id (list id)))
        (user-error "No bead marked or at point"))))

;;;; Verbs (the list's, on marked beads)

(defun gastown-beadlist--targets ()
  "Return the bead ids a verb acts on: the marked ones, else the bead at point.
Outside a bead list, the bead of the bead buffer, else one read."
  (cond ((derived-mode-p 'gastown-beadlist-mode) (gastown-beadlist-marked))
        ((and (derived-mode-p 'gastown-bead-mode) gastown-bead-id) (list gastown-bead-id))
        ((derived-mode-p 'gastown-bead-deps-mode 'gastown-bead-graph-mode)
         (list (or (get-text-property (point) 'gastown-bead) gastown-bead-deps--id)))
        (t (list (gastown-read-bead "Bead: " (gastown-current-town) t)))))

(defun gastown-beadlist--describe (ids)
  "Return \"gt-1\" or \"3 beads\" for IDS."
  (if (cdr ids) (format "%d beads" (length ids)) (car ids)))

(defun gastown-beadlist-bulk (ids change &optional town)
  "Apply CHANGE (a `bead/bulkUpdate' params plist without :ids) to IDS in TOWN.
All of them change, or, if the server refuses any, none does and its
one-line reason is signalled.  Return the number of beads changed."
  (let* ((town (or town gastown-buffer-town (gastown-current-town)))
         (res (gastown-request 'bead/bulkUpdate (append (list :ids (vconcat ids)) change) town)))
    (when (derived-mode-p 'gastown-beadlist-mode)
      (clrhash gastown-beadlist--marks)
      (gastown-beadlist--schedule))
    (when (derived-mode-p 'gastown-bead-mode)
      (gastown-bead-refresh))
    (plist-get res :updated)))

(defun gastown-beadlist--confirm (ids what)
  "Ask before doing WHAT to several IDS; return non-nil to go ahead."
  (or (not (cdr ids)) noninteractive
      (yes-or-no-p (format "%s on %d beads (%s%s)? " what (length ids)
                           (string-join (seq-take ids 3) ", ")
                           (if (> (length ids) 3) ", ..." "")))))

(defmacro gastown-beadlist--verb (ids what &rest change)
  "Run a bulk CHANGE on IDS after confirming WHAT; report the result."
  (declare (indent 2))
  `(when (gastown-beadlist--confirm ,ids ,what)
     (let ((n (gastown-beadlist-bulk ,ids (list ,@change))))
       (gastown-result "Gastown: %s: %s" ,what
                       (if (eql n 1) (car ,ids) (format "%s beads" n))))))

(defun gastown-beadlist-set-status (ids status)
  "Set the STATUS of IDS (the marked beads, or the one at point)."
  (interactive (let ((ids (gastown-beadlist--targets)))
                 (list ids (completing-read (format "Status of %s: " (gastown-beadlist--describe ids))
                                            gastown-beadlist-statuses nil t))))
  (gastown-beadlist--verb ids (format "status %s" status) :status status))

(defun gastown-beadlist-set-priority (ids priority)
  "Set the PRIORITY (0 highest to 4) of IDS."
  (interactive (let ((ids (gastown-beadlist--targets)))
                 (list ids (string-to-number
                            (completing-read (format "Priority of %s: " (gastown-beadlist--describe ids))
                                             '("0" "1" "2" "3" "4") nil t)))))
  (gastown-beadlist--verb ids (format "priority P%s" priority) :priority priority))

(defun gastown-beadlist-set-assignee (ids assignee)
  "Assign IDS to ASSIGNEE (empty: nobody)."
  (interactive (let ((ids (gastown-beadlist--targets)))
                 (list ids (completing-read
                            (format "Assign %s to (empty: nobody): " (gastown-beadlist--describe ids))
                            (mapcar (lambda (a) (gastown-str (gastown-get a :address :id :name)))
                                    (gastown-result-items
                                     (gastown-request 'agent/list nil
                                                      (or gastown-buffer-town (gastown-current-town)))
                                     :agents :items))))))
  (gastown-beadlist--verb ids (if (string-empty-p assignee) "unassigned" (concat "assigned to " assignee))
    :assignee assignee))

(defun gastown-beadlist-add-label (ids label)
  "Add LABEL to IDS (where missing)."
  (interactive (let ((ids (gastown-beadlist--targets)))
                 (list ids (read-string (format "Add label to %s: " (gastown-beadlist--describe ids))))))
  (gastown-beadlist--verb ids (format "label +%s" label) :add_labels (vector label)))

(defun gastown-beadlist-remove-label (ids label)
  "Remove LABEL from IDS (where present)."
  (interactive (let ((ids (gastown-beadlist--targets)))
                 (list ids (completing-read (format "Remove label from %s: " (gastown-beadlist--describe ids))
                                            (gastown-beadlist--labels-of ids)))))
  (gastown-beadlist--verb ids (format "label -%s" label) :remove_labels (vector label)))

(defun gastown-beadlist--labels-of (ids)
  "Return the labels the shown beads among IDS carry."
  (delete-dups (cl-loop for b in gastown-beadlist--beads
                        when (member (plist-get b :id) ids)
                        append (gastown-seq (plist-get b :labels)))))

(defun gastown-beadlist-close (ids reason)
  "Close IDS with REASON (asks first)."
  (interactive (let ((ids (gastown-beadlist--targets)))
                 (unless (or noninteractive
                             (yes-or-no-p (format "Close %s? " (gastown-beadlist--describe ids))))
                   (user-error "Not closed"))
                 (list ids (read-string "Close reason: "))))
  (let ((n (gastown-beadlist-bulk ids (list :status "closed" :reason reason))))
    (gastown-result "Gastown: closed %s" (if (eql n 1) (car ids) (format "%s beads" n)))))

(defconst gastown-beadlist-fields
  '(("title" . :title) ("status" . :status) ("priority" . :priority)
    ("assignee" . :assignee) ("type" . :type) ("description" . :description)
    ("notes" . :notes) ("labels" . :labels))
  "Fields `gastown-beadlist-edit' edits, with their `bead/update' keys.")

(defun gastown-beadlist--bead (id town)
  "Return bead ID of TOWN (a plist) from the server."
  (let ((b (gastown-request 'bead/show (list :id id) town)))
    (or (plist-get b :bead) b)))

(defun gastown-beadlist-edit (id field value &optional town)
  "Set FIELD of bead ID to VALUE in TOWN, in place.
FIELD is a name from `gastown-beadlist-fields'; for \"labels\" VALUE is
the whole comma-separated list (labels added and removed to match)."
  (interactive
   (let* ((town (or gastown-buffer-town (gastown-current-town)))
          (id (car (last (gastown-beadlist--targets))))
          (field (completing-read (format "Edit field of %s: " id)
                                  (mapcar #'car gastown-beadlist-fields) nil t))
          (bead (gastown-beadlist--bead id town))
          (key (cdr (assoc field gastown-beadlist-fields)))
          (old (if (eq key :labels)
                   (string-join (gastown-seq (plist-get bead :labels)) ", ")
                 (gastown-str (plist-get bead (if (eq key :type) :issue_type key)))))
          (value (pcase field
                   ("status" (completing-read "Status: " gastown-beadlist-statuses nil t nil nil old))
                   ("priority" (completing-read "Priority: " '("0" "1" "2" "3" "4") nil t nil nil old))
                   ("description" (read-string "Description: " old))
                   (_ (read-string (format "%s: " (capitalize field)) old)))))
     (list id field value town)))
  (let* ((town (or town gastown-buffer-town (gastown-current-town)))
         (key (or (cdr (assoc field gastown-beadlist-fields))
                  (user-error "Gastown: cannot edit %s" field)))
         (params
          (if (eq key :labels)
              (let* ((old (gastown-seq (plist-get (gastown-beadlist--bead id town) :labels)))
                     (new (split-string value "[, ]+" t)))
                (list :id id :add_labels (vconcat (cl-set-difference new old :test #'equal))
                      :remove_labels (vconcat (cl-set-difference old new :test #'equal))))
            (list :id id key (if (eq key :priority)
                                 (if (numberp value) value (string-to-number value))
                               value)))))
    (gastown-request 'bead/update params town)
    (cond ((derived-mode-p 'gastown-beadlist-mode) (gastown-beadlist--schedule))
          ((derived-mode-p 'gastown-bead-mode) (gastown-bead-refresh)))
    (gastown-result "Gastown: %s %s set" id field)))

(defun gastown-beadlist-create (title &optional type priority labels town)
  "Create a bead called TITLE of TYPE with PRIORITY and LABELS in TOWN.
Return its id."
  (interactive
   (list (read-string "New bead title: ")
         (completing-read "Type: " '("task" "bug" "feature" "epic" "chore" "decision") nil t nil nil
                          "task")
         (string-to-number (completing-read "Priority: " '("0" "1" "2" "3" "4") nil t nil nil "2"))
         (split-string (read-string "Labels (comma separated): ") "[, ]+" t)))
  (let* ((town (or town gastown-buffer-town (gastown-current-town)))
         (res (gastown-request 'bead/create
                               (append (list :title title :type (or type "task")
                                             :priority (or priority 2))
                                       (and labels (list :labels (vconcat labels))))
                               town))
         (id (plist-get res :id)))
    (when (derived-mode-p 'gastown-beadlist-mode) (gastown-beadlist--schedule))
    (gastown-result "Gastown: created %s" id)
    id))

(defun gastown-beadlist-visit ()
  "Open the bead on this line."
  (interactive)
  (let ((id (or (gastown-beadlist-bead-at-point) (user-error "No bead on this line"))))
    (pop-to-buffer (gastown-bead id gastown-buffer-town))))

(defun gastown-beadlist-deps ()
  "Show the dependency tree of the bead at point."
  (interactive)
  (pop-to-buffer (gastown-bead-deps (car (last (gastown-beadlist--targets)))
                                    (or gastown-buffer-town (gastown-current-town)))))

(defun gastown-beadlist-graph ()
  "Show the dependency graph of the bead at point."
  (interactive)
  (pop-to-buffer (gastown-bead-graph (car (last (gastown-beadlist--targets)))
                                     (or gastown-buffer-town (gastown-current-town)))))

;;;; Dependency tree


(defvar gastown-bead-deps-mode-map
  (let ((map (make-sparse-keymap)))
    (set-keymap-parent map magit-section-mode-map)
    (define-key map (kbd "g") #'gastown-bead-deps-refresh)
    (define-key map (kbd "RET") #'gastown-bead-deps-visit)
    (define-key map (kbd "d") #'gastown-bead-deps-here)
    (define-key map (kbd "G") #'gastown-beadlist-graph)
    (define-key map (kbd "b") #'gastown-bead-dep-add)
    (define-key map (kbd "B") #'gastown-bead-dep-remove)
    (define-key map (kbd "?") #'gastown-bead-verbs)
    map)
  "Keymap of `gastown-bead-deps-mode'.")

(define-derived-mode gastown-bead-deps-mode magit-section-mode "Gastown-Deps"
  "Major mode showing a bead's blockers and dependents as expandable trees.

\\{gastown-bead-deps-mode-map}"
  (setq-local header-line-format '(:eval (gastown-header-line)))
  (setq-local revert-buffer-function (lambda (&rest _) (gastown-bead-deps-refresh))))

(defun gastown-bead-deps--node-heading (node arrow)
  "Return the heading of dependency NODE, drawn with ARROW."
  (let ((status (gastown-str (plist-get node :status)))
        (id (gastown-str (plist-get node :id))))
    (propertize
     (concat arrow " " (format "%-10s " (gastown-str (plist-get node :type)))
             (propertize (format "%-12s" id) 'face 'gastown-bead-id)
             " " (propertize (format "%-11s" status) 'face (gastown-status-face status))
             " " (gastown-str (plist-get node :title))
             (cond ((gastown-true-p (plist-get node :repeated)) (propertize "  (shown above)" 'face 'shadow))
                   ((gastown-true-p (plist-get node :blocking)) (propertize "  BLOCKING" 'face 'error))
                   (t ""))
             "\n")
     'gastown-bead id)))

(defun gastown-bead-deps--insert-nodes (nodes arrow)
  "Insert a section per dependency node of NODES (and their children) with ARROW."
  (dolist (node nodes)
    (magit-insert-section (gastown-dep-node (plist-get node :id))
      (magit-insert-heading (gastown-bead-deps--node-heading node arrow))
      (gastown-bead-deps--insert-nodes (gastown-seq (plist-get node :children))
                                       (concat "  " arrow)))))

(defun gastown-bead-deps--render ()
  "Draw the dependency tree held."
  (let* ((inhibit-read-only t)
         (data gastown-bead-deps--data)
         (here (get-text-property (point) 'gastown-bead))
         (blockers (gastown-seq (plist-get data :blockers)))
         (dependents (gastown-seq (plist-get data :dependents)))
         (status (gastown-str (plist-get data :status))))
    (erase-buffer)
    (setq magit-section-highlighted-sections nil
          magit-section-unhighlight-sections nil
          magit-section-pre-command-section nil)
    (magit-insert-section (gastown-bead-deps-root)
      (insert (propertize (gastown-str (plist-get data :title)) 'face 'magit-section-heading)
              "  " (propertize (gastown-str (plist-get data :id)) 'face 'gastown-bead-id
                               'gastown-bead (plist-get data :id))
              "  " (propertize status 'face (gastown-status-face status)) "\n\n")
      (magit-insert-section (gastown-deps-blockers)
        (magit-insert-heading (propertize (format "Blockers (%d)" (length blockers))
                                          'face 'magit-section-heading)
          "\n")
        (if blockers (gastown-bead-deps--insert-nodes blockers "<-")
          (insert "  Nothing blocks this bead.\n")))
      (insert "\n")
      (magit-insert-section (gastown-deps-dependents)
        (magit-insert-heading (propertize (format "Dependents (%d)" (length dependents))
                                          'face 'magit-section-heading)
          "\n")
        (if dependents (gastown-bead-deps--insert-nodes dependents "->")
          (insert "  Nothing waits for this bead.\n"))))
    (let ((found (and here (gastown-find-property 'gastown-bead here))))
      (goto-char (or found (point-min))))))

(defun gastown-bead-deps--fetch (buf render)
  "Fetch the dependencies of BUF's bead, then call RENDER in BUF."
  (with-current-buffer buf
    (gastown-async 'bead/deps (list :id gastown-bead-deps--id :depth 4)
                   (lambda (res)
                     (when (buffer-live-p buf)
                       (with-current-buffer buf
                         (setq gastown-bead-deps--data res)
                         (funcall render))))
                   :town gastown-buffer-town)))

(defun gastown-bead-deps--schedule ()
  "Fetch this dependency buffer again soon."
  (unless gastown-bead-deps--timer
    (setq gastown-bead-deps--timer
          (run-with-timer 0.05 nil
                          (lambda (buf)
                            (when (buffer-live-p buf)
                              (with-current-buffer buf
                                (setq gastown-bead-deps--timer nil)
                                (gastown-bead-deps--fetch
                                 buf (if (derived-mode-p 'gastown-bead-graph-mode)
                                         #'gastown-bead-graph--render
                                       #'gastown-bead-deps--render)))))
                          (current-buffer)))))

;;;###autoload
(defun gastown-bead-deps (id &optional town)
  "Show what blocks bead ID of TOWN and what it blocks; return the buffer."
  (interactive (let ((town (gastown-current-town current-prefix-arg)))
                 (list (gastown-read-bead "Dependencies of bead: " town t) town)))
  (let* ((town (or town (gastown-current-town)))
         (res (gastown-request 'bead/deps (list :id id :depth 4) town))
         (buf (gastown-buffer "deps" town id)))
    (with-current-buffer buf
      (unless (derived-mode-p 'gastown-bead-deps-mode) (gastown-bead-deps-mode))
      (setq gastown-buffer-town town
            gastown-bead-deps--id id
            gastown-bead-deps--data res)
      (gastown-bead-deps--render))
    (when (called-interactively-p 'any) (pop-to-buffer buf))
    buf))

(defun gastown-bead-deps-refresh ()
  "Fetch the dependencies again."
  (interactive)
  (gastown-bead-deps--fetch (current-buffer)
                            (if (derived-mode-p 'gastown-bead-graph-mode)
                                #'gastown-bead-graph--render
                              #'gastown-bead-deps--render)))

(defun gastown-bead-deps-visit ()
  "Open the bead at point."
  (interactive)
  (let ((id (or (get-text-property (point) 'gastown-bead) (user-error "No bead here"))))
    (pop-to-buffer (gastown-bead id gastown-buffer-town))))

(defun gastown-bead-deps-here ()
  "Show the dependency tree of the bead at point instead."
  (interactive)
  (let ((id (or (get-text-property (point) 'gastown-bead) (user-error "No bead here"))))
    (pop-to-buffer (gastown-bead-deps id gastown-buffer-town))))

;;;; Dependency graph

(defcustom gastown-bead-graph-use-svg t
  "Non-nil means draw the dependency graph as an SVG image where Emacs can.
Otherwise, and on text terminals, the graph is drawn in text."
  :type 'boolean)

(defvar gastown-bead-graph-mode-map
  (let ((map (make-sparse-keymap)))
    (set-keymap-parent map special-mode-map)
    (define-key map (kbd "g") #'gastown-bead-deps-refresh)
    (define-key map (kbd "RET") #'gastown-bead-deps-visit)
    (define-key map (kbd "d") #'gastown-bead-deps-here)
    (define-key map (kbd "b") #'gastown-bead-dep-add)
    (define-key map (kbd "B") #'gastown-bead-dep-remove)
    (define-key map (kbd "?") #'gastown-bead-verbs)
    map)
  "Keymap of `gastown-bead-graph-mode'.")

(define-derived-mode gastown-bead-graph-mode special-mode "Gastown-Graph"
  "Major mode picturing a bead's dependency graph.
Blockers are drawn left of what they block.

\\{gastown-bead-graph-mode-map}"
  (setq-local header-line-format '(:eval (gastown-header-line)))
  (setq-local truncate-lines t)
  (setq-local revert-buffer-function (lambda (&rest _) (gastown-bead-deps-refresh))))

(defun gastown-bead-graph--layers (graph)
  "Return GRAPH's nodes grouped by layer: a vector of lists in order."
  (let ((layers (make-vector (max 1 (or (plist-get graph :layers) 1)) nil)))
    (dolist (n (reverse (gastown-seq (plist-get graph :nodes))))
      (let ((k (or (plist-get n :layer) 0)))
        (aset layers k (cons n (aref layers k)))))
    (cl-loop for k below (length layers)
             do (aset layers k (sort (aref layers k)
                                     (lambda (a b) (< (or (plist-get a :order) 0)
                                                      (or (plist-get b :order) 0))))))
    layers))

(defun gastown-bead-graph-text (graph)
  "Return a text picture of dependency GRAPH (a `bead/deps' :graph plist).
One column of boxes per layer, left to right (blockers first); under
the boxes, each edge as \"blocker --type--> dependent\"."
  (let* ((layers (gastown-bead-graph--layers graph))
         (width 24)
         (rows (cl-loop for k below (length layers) maximize (length (aref layers k))))
         (cell (lambda (n)
                 (if (null n) (make-string width ?\s)
                   (let* ((id (gastown-str (plist-get n :id)))
                          (root (gastown-true-p (plist-get n :root)))
                          (text (truncate-string-to-width
                                 (format "%s %s" id (gastown-str (plist-get n :status)))
                                 (- width 4))))
                     (propertize (concat (if root "[*" "[ ") (string-pad text (- width 4)) "]")
                                 'gastown-bead id
                                 'face (if root 'bold (gastown-status-face
                                                       (gastown-str (plist-get n :status)))))))))
         (out nil))
    (dotimes (r rows)
      (push (concat (mapconcat (lambda (k) (funcall cell (nth r (aref layers k))))
                               (number-sequence 0 (1- (length layers)))
                               (if (zerop r) " --> " "     "))
                    "\n")
            out))
    (push "\n" out)
    (dolist (e (gastown-seq (plist-get graph :edges)))
      (let ((s (gastown-str (plist-get e :source)))
            (tg (gastown-str (plist-get e :target))))
        (push (concat "  " (propertize s 'gastown-bead s 'face 'gastown-bead-id)
                      (format " --%s--> " (gastown-str (plist-get e :type)))
                      (propertize tg 'gastown-bead tg 'face 'gastown-bead-id)
                      (if (gastown-true-p (plist-get e :blocking))
                          (propertize "  (blocking)" 'face 'error) "")
                      "\n")
              out)))
    (when (gastown-true-p (plist-get graph :truncated))
      (push (propertize "  (graph cut short: too many beads)\n" 'face 'shadow) out))
    (apply #'concat (nreverse out))))

(defun gastown-bead-graph-svg (graph)
  "Return an SVG object (see svg.el) picturing dependency GRAPH."
  (let* ((layers (gastown-bead-graph--layers graph))
         (bw 170) (bh 38) (gx 60) (gy 18) (pad 10)
         (rows (max 1 (cl-loop for k below (length layers) maximize (length (aref layers k)))))
         (svg (svg-create (+ (* 2 pad) (* (length layers) (+ bw gx)))
                          (+ (* 2 pad) (* rows (+ bh gy)))))
         (pos (make-hash-table :test #'equal)))
    (cl-loop for k below (length layers)
             do (cl-loop for n in (aref layers k) for r from 0
                         do (puthash (plist-get n :id)
                                     (cons (+ pad (* k (+ bw gx))) (+ pad (* r (+ bh gy))))
                                     pos)))
    (dolist (e (gastown-seq (plist-get graph :edges)))
      (let ((a (gethash (plist-get e :source) pos))
            (b (gethash (plist-get e :target) pos)))
        (when (and a b)
          (svg-line svg (+ (car a) bw) (+ (cdr a) (/ bh 2)) (car b) (+ (cdr b) (/ bh 2))
                    :stroke (if (gastown-true-p (plist-get e :blocking)) "#c0392b" "#888888")
                    :stroke-width 2
                    :stroke-dasharray (if (member (plist-get e :type)
                                                  '("blocks" "parent-child" "conditional-blocks"
                                                    "waits-for"))
                                          "none" "4,3")))))
    (dolist (n (gastown-seq (plist-get graph :nodes)))
      (let* ((p (gethash (plist-get n :id) pos))
             (status (gastown-str (plist-get n :status))))
        (svg-rectangle svg (car p) (cdr p) bw bh :rx 6
                       :fill (pcase status
                               ("closed" "#e8e8e8") ((or "in_progress" "hooked") "#fff3cd")
                               ((or "blocked" "deferred") "#f8d7da") (_ "#ffffff"))
                       :stroke (if (gastown-true-p (plist-get n :root)) "#1f6feb" "#555555")
                       :stroke-width (if (gastown-true-p (plist-get n :root)) 3 1))
        (svg-text svg (format "%s  %s" (plist-get n :id) status)
                  :x (+ (car p) 6) :y (+ (cdr p) 15) :font-size 12 :font-family "monospace")
        (svg-text svg (truncate-string-to-width (gastown-str (plist-get n :title)) 24 nil nil "…")
                  :x (+ (car p) 6) :y (+ (cdr p) 31) :font-size 12)))
    svg))

(defun gastown-bead-graph--render ()
  "Draw the graph of the dependencies held."
  (let ((inhibit-read-only t)
        (graph (plist-get gastown-bead-deps--data :graph)))
    (erase-buffer)
    (insert (propertize (format "Dependency graph of %s: %s\n\n"
                                (gastown-str (plist-get gastown-bead-deps--data :id))
                                (gastown-str (plist-get gastown-bead-deps--data :title)))
                        'face 'bold))
    (when (and gastown-bead-graph-use-svg (display-graphic-p) (image-type-available-p 'svg))
      (svg-insert-image (gastown-bead-graph-svg graph))
      (insert "\n\n"))
    (insert (gastown-bead-graph-text graph))
    (goto-char (point-min))))

;;;###autoload
(defun gastown-bead-graph (id &optional town)
  "Picture the dependency graph around bead ID of TOWN; return the buffer."
  (interactive (let ((town (gastown-current-town current-prefix-arg)))
                 (list (gastown-read-bead "Graph of bead: " town t) town)))
  (let* ((town (or town (gastown-current-town)))
         (res (gastown-request 'bead/deps (list :id id :depth 4) town))
         (buf (gastown-buffer "graph" town id)))
    (with-current-buffer buf
      (unless (derived-mode-p 'gastown-bead-graph-mode) (gastown-bead-graph-mode))
      (setq gastown-buffer-town town
            gastown-bead-deps--id id
            gastown-bead-deps--data res)
      (gastown-bead-graph--render))
    (when (called-interactively-p 'any) (pop-to-buffer buf))
    buf))

;;;; Adding and removing dependencies

(defconst gastown-dep-types
  '("blocks" "parent-child" "conditional-blocks" "waits-for" "related" "relates-to"
    "tracks" "discovered-from" "caused-by" "validates" "supersedes" "duplicates")
  "Dependency types offered when adding one; the server has the final word.")

(defun gastown-bead-dep--subject ()
  "Return the bead a dependency verb is about.
The bead of a bead or dependency buffer, the bead on a bead list's or
the work board's line, else one read."
  (cond ((and (derived-mode-p 'gastown-bead-mode) gastown-bead-id) gastown-bead-id)
        ((derived-mode-p 'gastown-bead-deps-mode 'gastown-bead-graph-mode) gastown-bead-deps--id)
        ((derived-mode-p 'gastown-beadlist-mode)
         (or (gastown-beadlist-bead-at-point) (user-error "No bead on this line")))
        ((derived-mode-p 'gastown-work-mode)
         (or (get-text-property (line-beginning-position) 'gastown-bead) (user-error "No bead on this line")))
        (t (gastown-read-bead "Bead: " (gastown-current-town) t))))

;;;###autoload
(defun gastown-bead-dep-add (issue depends-on &optional type town)
  "Make bead ISSUE of TOWN depend on DEPENDS-ON, a TYPE dependency.
TYPE defaults to \"blocks\": DEPENDS-ON must close before ISSUE is
ready.  The server refuses an unknown bead, a self-dependency and a
cycle, with its reason; open views update by push.  Return the message."
  (interactive
   (let* ((town (or gastown-buffer-town (gastown-current-town)))
          (issue (gastown-bead-dep--subject)))
     (list issue
           (gastown-read-bead (format "%s depends on: " issue) town t)
           (completing-read "Dependency type (default blocks): " gastown-dep-types nil nil nil nil "blocks")
           town)))
  (let* ((town (or town gastown-buffer-town (gastown-current-town)))
         (dep (gastown-request 'bead/depAdd
                               (list :issue issue :depends_on depends-on :type (or type "blocks"))
                               town)))
    (gastown-result "Gastown: %s now depends on %s (%s)" (gastown-str (plist-get dep :issue_id))
                    (gastown-str (plist-get dep :depends_on_id)) (gastown-str (plist-get dep :type)))))

(defun gastown-bead-dep--edges (id town)
  "Return ID's direct dependencies in TOWN as (LABEL ISSUE DEPENDS-ON) lists.
Both what ID depends on and what depends on ID."
  (let ((res (gastown-request 'bead/deps (list :id id :depth 1) town))
        (edges nil))
    (dolist (n (gastown-seq (plist-get res :blockers)))
      (let ((other (gastown-str (plist-get n :id))))
        (push (list (format "%s depends on %s (%s)  %s" id other (gastown-str (plist-get n :type))
                            (gastown-str (plist-get n :title)))
                    id other)
              edges)))
    (dolist (n (gastown-seq (plist-get res :dependents)))
      (let ((other (gastown-str (plist-get n :id))))
        (push (list (format "%s depends on %s (%s)  %s" other id (gastown-str (plist-get n :type))
                            (gastown-str (plist-get n :title)))
                    other id)
              edges)))
    (nreverse edges)))

;;;###autoload
(defun gastown-bead-dep-remove (issue depends-on &optional town)
  "Remove the dependency of bead ISSUE on DEPENDS-ON in TOWN.
Interactively, pick one of the bead's dependencies or dependents (the
one at point first, in a dependency buffer).  Return the message."
  (interactive
   (let* ((town (or gastown-buffer-town (gastown-current-town)))
          (id (gastown-bead-dep--subject))
          (edges (or (gastown-bead-dep--edges id town)
                     (user-error "Gastown: %s has no dependencies to remove" id)))
          (here (get-text-property (point) 'gastown-bead))
          (default (car (seq-find (lambda (e) (and here (not (equal here id)) (member here (cdr e))))
                                  edges)))
          (label (completing-read "Remove dependency: " (mapcar #'car edges) nil t nil nil default)))
     (append (cdr (assoc label edges)) (list town))))
  (let* ((town (or town gastown-buffer-town (gastown-current-town)))
         (res (gastown-request 'bead/depRemove (list :issue issue :depends_on depends-on) town)))
    (gastown-result "Gastown: %s no longer depends on %s (%s removed)" issue depends-on
                    (gastown-str (plist-get res :type)))))

;;;; The verbs transient

;;;###autoload (autoload 'gastown-bead-verbs "gastown-beadlist" nil t)
(transient-define-prefix gastown-bead-verbs ()
  "Every bead verb: on the marked beads, else the bead at point."
  [["View"
    ("L" "Bead list" gastown-beadlist)
    ("/" "Search" gastown-beadlist-search)
    ("f" "Filter preset" gastown-beadlist-set-preset)
    ("o" "Sort" gastown-beadlist-set-sort)
    ("A" "Show/hide closed" gastown-beadlist-toggle-closed)]
   ["Marks"
    ("m" "Mark" gastown-beadlist-mark)
    ("u" "Unmark" gastown-beadlist-unmark)
    ("M" "Mark page" gastown-beadlist-mark-all)
    ("U" "Unmark all" gastown-beadlist-unmark-all)]
   ["Change (marked or at point)"
    ("S" "Status" gastown-beadlist-set-status)
    ("P" "Priority" gastown-beadlist-set-priority)
    ("a" "Assignee" gastown-beadlist-set-assignee)
    ("+" "Add label" gastown-beadlist-add-label)
    ("-" "Remove label" gastown-beadlist-remove-label)
    ("k" "Close" gastown-beadlist-close)]
   ["Bead"
    ("c" "Create" gastown-beadlist-create)
    ("e" "Edit a field" gastown-beadlist-edit)
    ("d" "Dependency tree" gastown-beadlist-deps)
    ("G" "Dependency graph" gastown-beadlist-graph)]
   ["Dependencies"
    ("b" "Add a dependency" gastown-bead-dep-add)
    ("B" "Remove a dependency" gastown-bead-dep-remove)]])

;; The bead view gets the same verbs.
(define-key gastown-bead-mode-map (kbd "e") #'gastown-beadlist-edit)
(define-key gastown-bead-mode-map (kbd "P") #'gastown-beadlist-set-priority)
(define-key gastown-bead-mode-map (kbd "+") #'gastown-beadlist-add-label)
(define-key gastown-bead-mode-map (kbd "-") #'gastown-beadlist-remove-label)
(define-key gastown-bead-mode-map (kbd "d") #'gastown-beadlist-deps)
(define-key gastown-bead-mode-map (kbd "G") #'gastown-beadlist-graph)
(define-key gastown-bead-mode-map (kbd "?") #'gastown-bead-verbs)
(define-key gastown-bead-mode-map (kbd "b") #'gastown-bead-dep-add)
(define-key gastown-bead-mode-map (kbd "B") #'gastown-bead-dep-remove)

(provide 'gastown-beadlist)

;;; gastown-beadlist.el ends here
